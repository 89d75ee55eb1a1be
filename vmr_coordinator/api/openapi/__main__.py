"""``python -m vmr_coordinator.api.openapi [--rst]``."""

import sys

from vmr_coordinator.api.openapi import main

sys.exit(main())
