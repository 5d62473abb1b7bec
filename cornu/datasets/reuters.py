"""`keras.datasets.reuters`.

See `cornu.data.datasets.reuters` for the files, where they are looked up, and how they
are checked.
"""

from cornu.data.datasets.reuters import *  # noqa: F403
from cornu.data.datasets.reuters import __all__  # noqa: F401
