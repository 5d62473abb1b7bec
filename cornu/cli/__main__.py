"""`python -m cornu.cli ...`: the same as the `cornu` command."""

import sys

from cornu.cli.main import main

sys.exit(main())
