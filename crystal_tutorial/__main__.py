"""``python -m crystal_tutorial``: the command line, in ``crystal_tutorial.cli.main``."""
import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
