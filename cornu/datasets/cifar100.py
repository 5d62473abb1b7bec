"""`keras.datasets.cifar100`.

See `cornu.data.datasets.cifar100` for the files, where they are looked up, and how they
are checked.
"""

from cornu.data.datasets.cifar100 import *  # noqa: F403
from cornu.data.datasets.cifar100 import __all__  # noqa: F401
