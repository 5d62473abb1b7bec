"""`python -m cornu`: the cornu command."""

import sys

from cornu.cli.main import main

sys.exit(main())
