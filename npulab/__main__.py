"""``python -m npulab`` runs the command line."""
import sys

from npulab.cli import main

sys.exit(main())
