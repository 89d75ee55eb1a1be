"""Instance problems seen by the hypervisor itself (libvirt lifecycle events).

Optional: only when ``[agent] libvirt_uri`` is set and the ``libvirt``
Python binding is installed (``pip install vmr[libvirt]``).  A domain that
crashes, or stops without anybody asking, is reported among the agent's
capabilities (``instances_down``); the leader turns each report into one
``instance_down`` event.  Nova's own view (the coordinator's poll of
ERROR/SHUTOFF servers) works without it; libvirt only makes it faster.
"""

import logging
import threading
import time

LOG = logging.getLogger(__name__)

# libvirt's virDomainEventType and the detail codes we care about.
EVENT_STOPPED = 5
EVENT_CRASHED = 8
STOPPED_SHUTDOWN = 0       # the guest shut itself down
STOPPED_DESTROYED = 1      # destroyed (by Nova on `stop`, or by an operator)
STOPPED_CRASHED = 2
STOPPED_FAILED = 5
#: stopped details that nobody asked for
UNEXPECTED_STOPS = (STOPPED_CRASHED, STOPPED_FAILED)


class LibvirtWatcher:
    """Collects domains that went down unexpectedly, by Nova instance uuid.

    ``report()`` returns the current list for the capabilities; entries
    expire after ``keep`` seconds (the leader has long acted on them).
    """

    def __init__(self, uri, keep=300.0, libvirt_module=None, clock=None):
        self.uri = uri
        self.keep = keep
        self.clock = clock or time.time
        self._down = {}
        self._lock = threading.Lock()
        self._libvirt = libvirt_module
        self._conn = None
        self._thread = None

    @staticmethod
    def available():
        try:
            import libvirt  # noqa: F401
        except ImportError:
            return False
        return True

    def start(self):
        """Register for lifecycle events; False (with a log) if impossible."""
        libvirt = self._libvirt
        if libvirt is None:
            try:
                import libvirt
            except ImportError:
                LOG.warning('[agent] libvirt_uri is set but the libvirt '
                            'Python binding is missing (pip install '
                            'libvirt-python); instance events come from Nova '
                            'polling only')
                return False
            self._libvirt = libvirt
        libvirt.virEventRegisterDefaultImpl()
        try:
            self._conn = libvirt.openReadOnly(self.uri)
        except libvirt.libvirtError as exc:
            LOG.warning('cannot connect to libvirt at %s: %s', self.uri, exc)
            return False
        self._conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self.on_event, None)
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='vmr-libvirt-events')
        self._thread.start()
        LOG.info('watching libvirt lifecycle events at %s', self.uri)
        return True

    def _loop(self):
        while True:
            try:
                self._libvirt.virEventRunDefaultImpl()
            except Exception as exc:  # a broken libvirt connection
                LOG.warning('libvirt event loop: %s', exc)
                time.sleep(1)

    def on_event(self, conn, domain, event, detail, opaque):
        """libvirt's lifecycle callback (also called directly by tests)."""
        unexpected = event == EVENT_CRASHED or (
            event == EVENT_STOPPED and detail in UNEXPECTED_STOPS)
        if not unexpected:
            return
        uuid = domain.UUIDString()
        LOG.warning('instance %s (%s) went down unexpectedly (libvirt event '
                    '%d/%d)', uuid, domain.name(), event, detail)
        with self._lock:
            self._down[uuid] = self.clock()

    def report(self):
        """Instance uuids down recently, for the agent's capabilities."""
        now = self.clock()
        with self._lock:
            self._down = {u: t for u, t in self._down.items()
                          if now - t < self.keep}
            return sorted(self._down)
