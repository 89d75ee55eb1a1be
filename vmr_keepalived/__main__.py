"""``python -m vmr_keepalived``: the renderer alone (see :mod:`.cli`)."""

import sys

from vmr_keepalived.cli import main

sys.exit(main())
