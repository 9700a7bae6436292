"""`python -m hagent` runs the command line."""

import sys

from hagent.cli import main

sys.exit(main())
