import sys

from casparian_cli import main

sys.exit(main())
