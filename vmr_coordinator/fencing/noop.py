"""The ``noop`` fencer: claims success without touching anything.

Tests only.  :func:`vmr_coordinator.fencing.base.load_fencer` refuses it
unless ``[fencing] allow_unsafe_fencing = true``.  Options let tests script
its behaviour: ``verified`` (default true), ``delay`` (seconds to sleep in
``fence``, to simulate a hung driver) and ``error`` (text to fail with).
"""

import time

from vmr_coordinator.fencing import base


class NoopFencer(base.Fencer):
    """Pretends to fence; proves nothing."""

    name = 'noop'
    optional_options = {'verified': True, 'delay': 0.0, 'error': None,
                        'password': None}

    def status(self, target):
        return base.PowerState.UNKNOWN

    def fence(self, target, timeout):
        start = time.monotonic()
        if self.options['delay']:
            time.sleep(float(self.options['delay']))
        verified = bool(self.options['verified']) and not self.options['error']
        return self.result(
            verified,
            evidence='noop: nothing was powered off (unsafe, tests only)',
            duration=time.monotonic() - start,
            error=self.options['error'] or (None if verified
                                            else 'noop told to fail'),
            power_state=base.PowerState.OFF if verified
            else base.PowerState.UNKNOWN)

    def unfence(self, target):
        return self.result(True, evidence='noop: nothing was powered on')
