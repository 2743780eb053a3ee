"""``python -m scales_core.sweep``: see :func:`scales_core.sweep.cli.main`."""

import sys

from .cli import main

sys.exit(main())
