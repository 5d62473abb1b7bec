"""`keras.datasets.fashion_mnist`.

See `cornu.data.datasets.fashion_mnist` for the files, where they are looked up, and how they
are checked.
"""

from cornu.data.datasets.fashion_mnist import *  # noqa: F403
from cornu.data.datasets.fashion_mnist import __all__  # noqa: F401
