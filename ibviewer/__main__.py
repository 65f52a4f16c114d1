import sys

from ibviewer.cli import main

sys.exit(main())
