import sys

from convkit.cli import main

sys.exit(main())
