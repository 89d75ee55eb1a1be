"""``python -m vmr_coordinator.contracts``: see :mod:`.cli`."""

import sys

from vmr_coordinator.contracts.cli import main

sys.exit(main())
