"""`keras.datasets.california_housing`.

See `cornu.data.datasets.california_housing` for the files, where they are looked up, and how they
are checked.
"""

from cornu.data.datasets.california_housing import *  # noqa: F403
from cornu.data.datasets.california_housing import __all__  # noqa: F401
