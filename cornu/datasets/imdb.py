"""`keras.datasets.imdb`.

See `cornu.data.datasets.imdb` for the files, where they are looked up, and how they
are checked.
"""

from cornu.data.datasets.imdb import *  # noqa: F403
from cornu.data.datasets.imdb import __all__  # noqa: F401
