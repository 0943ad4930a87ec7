import sys

from casparian_core.cli import main

sys.exit(main())
