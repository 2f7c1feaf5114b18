"""`python -m server` is `roomrack-server`."""

import sys

from server.cli import main

sys.exit(main())
