"""`python -m smugkit` runs the command line."""

import sys

from smugkit.cli import main

sys.exit(main())
