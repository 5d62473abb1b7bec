"""`keras.datasets.cifar10`.

See `cornu.data.datasets.cifar10` for the files, where they are looked up, and how they
are checked.
"""

from cornu.data.datasets.cifar10 import *  # noqa: F403
from cornu.data.datasets.cifar10 import __all__  # noqa: F401
