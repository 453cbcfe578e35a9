"""`python -m nas.cli ...` runs the `nas` command line."""
import sys

from .main import main

sys.exit(main())
