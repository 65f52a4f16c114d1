"""python main.py: open ibviewer on its default preset (arguments as for `ibviewer`)."""

import sys

from ibviewer.cli import main

if __name__ == "__main__":
    sys.exit(main())
