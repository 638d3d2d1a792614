"""`python -m control_plane` runs the `assistiv-gateway` command."""

import sys

from control_plane.cli import main

sys.exit(main())
