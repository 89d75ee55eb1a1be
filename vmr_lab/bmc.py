"""Virtual IPMI BMCs for the lab, served by pyghmi's BMC server on loopback.

One :class:`BmcServer` holds any number of BMCs (one UDP port each) and runs
a single pyghmi listen loop in a daemon thread that serves all of them.  Each
BMC forwards power requests to two callables supplied by its owner::

    get_power() -> 'on' | 'off'
    set_power(state)   # state: 'on', 'off', 'cycle', 'reset', 'shutdown', 'diag'

so powering off a simulated host through IPMI really stops its VMs.

:meth:`BmcServer.add` returns a :class:`BmcHandle` with fault switches used by
tests: :meth:`BmcHandle.slow` delays every answer to a command,
:meth:`BmcHandle.unreachable` drops every packet, :meth:`BmcHandle.clear`
restores normal service.

pyghmi's server only implements cipher suite 3 (SHA-1), while pyghmi's own
client first asks for suite 17 (SHA-256) and crashes on the suite-3 answer.
:class:`_LabServerSession` therefore answers an open-session request that
asks for anything but HMAC-SHA1 authentication with RMCP+ status 0x11 ("no
matching cipher suite"), and the client falls back to suite 3.  ipmitool and
fence_ipmilan ask for the supported suites first and work either way.

pyghmi normally reads every socket, client or server, in one shared io
thread, and whichever thread waits for a response processes whatever
arrived.  With a pyghmi *client* in the same process (tests, lab tools) that
reorders logins and stalls them.  The BMC sockets here are therefore
created and read by :class:`BmcServer`'s own loop, never by pyghmi's.
"""

import collections
import logging
import os
import socket
import struct
import threading
import uuid

# bandit B415 (pyghmi imports) is justified: the lab's virtual BMCs speak IPMI on loopback
# because the IPMI fencer under test speaks it.
import pyghmi.ipmi.bmc as pyghmi_bmc  # nosec B415
import pyghmi.ipmi.private.constants as ipmi_constants  # nosec B415
import pyghmi.ipmi.private.serversession as serversession  # nosec B415
import pyghmi.ipmi.private.session as ipmisession  # nosec B415

from vmr_common import fdwait
from vmr_common import ipmi_locks  # noqa: F401 (no deadlock in pyghmi)

LOG = logging.getLogger(__name__)

# RMCP+ status code (IPMI 2.0 table 13-15): no cipher suite matches the
# proposed security algorithms.
_RMCP_NO_MATCHING_CIPHER_SUITE = 0x11
# Authentication algorithm numbers (IPMI 2.0 table 13-17).
_AUTH_RAKP_HMAC_SHA1 = 1

# Chassis control directives (IPMI 2.0 table 28-4) -> set_power() values.
_CHASSIS_DIRECTIVES = {0: 'off', 1: 'on', 2: 'cycle', 3: 'reset', 4: 'diag',
                       5: 'shutdown'}
_IPMI_NETFN_CHASSIS = 0
_IPMI_CMD_CHASSIS_CONTROL = 2

# BMC-side packets are handled by the listen thread and by the timer threads
# of slow BMCs; pyghmi's session objects are not thread-safe.
_SERVER_LOCK = threading.RLock()


class _LabServerSession(serversession.ServerSession):
    """A BMC-side RMCP+ session that refuses non-SHA-1 cipher suites cleanly.

    pyghmi's server always answers with suite 3 whatever the client asked
    for; answering 0x11 instead lets pyghmi's client retry with suite 3.
    """

    def create_open_session_response(self, request):
        # Payload layout (IPMI 2.0 table 13-16): the authentication algorithm
        # sits at offset 12 of the open-session request.
        if len(request) > 12 and request[12] != _AUTH_RAKP_HMAC_SHA1:
            clienttag = request[0]
            self.clientsessionid = request[4:8]
            self.managedsessionid = os.urandom(4)
            self.privlevel = 4
            return (bytearray([clienttag, _RMCP_NO_MATCHING_CIPHER_SUITE, 0, 0])
                    + self.clientsessionid)
        return super().create_open_session_response(request)

    def process_pktqueue(self):
        # An unreachable BMC drops packets of established sessions too.
        with _SERVER_LOCK:
            if self.bmc.handle.is_unreachable:
                self.pktqueue.clear()
                return
            super().process_pktqueue()


class _LabBmc(pyghmi_bmc.Bmc):
    """One virtual BMC: pyghmi's Bmc wired to get_power/set_power callables."""

    def __init__(self, handle, authdata, port, address):
        # Not IpmiServer.__init__: it registers the socket with pyghmi's
        # shared io thread, whose select() then races our own loop and, when
        # ours is its first socket, uses it for its wake-up packets.  Same
        # attributes, our own socket.
        self.handle = handle
        self.revision = 0
        self.deviceid = 0
        self.firmwaremajor = 1
        self.firmwareminor = 0
        self.ipmiversion = 2
        self.additionaldevices = 0
        self.mfgid = 0
        self.prodid = 0
        self.pktqueue = collections.deque([])
        self.uuid = uuid.uuid4()
        self.authdata = authdata
        # Channel authentication capabilities: channel 1, IPMI 2.0 only,
        # non-null user names (IPMI 2.0 table 22-15).
        self.authcap = struct.pack('BBBBBBBBB', 0, 1, 0b10000000,
                                   0b00000100, 0b00000010, 0, 0, 0, 0)
        self.kg = None
        self.timeout = 60
        self.port = port
        family, _, _, _, sockaddr = socket.getaddrinfo(
            address, port, 0, socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind(sockaddr)
        except OSError:
            sock.close()
            raise
        self.serversocket = sock
        ipmisession.Session.bmc_handlers[sock] = {0: self}

    def dispatch(self, data, sockaddr):
        """Handle one received datagram, like pyghmi's io loop would."""
        with _SERVER_LOCK:
            if self.handle.is_unreachable:
                return
            sessions = ipmisession.Session.bmc_handlers.get(sockaddr, {})
            session = sessions.get(self.port)
            if session is not None:
                session.pktqueue.append((data, sockaddr, self.serversocket,
                                         True))
                session.process_pktqueue()
            else:
                self.sessionless_data(data, sockaddr)

    # -- power, as pyghmi's Bmc expects it --------------------------------
    def get_power_state(self):
        state = self.handle.get_power()
        if state not in ('on', 'off'):
            raise ValueError('get_power() for BMC %s returned %r, expected '
                             "'on' or 'off'" % (self.handle.name, state))
        return state

    def _set(self, state):
        self.handle.set_power(state)
        return 0

    def power_off(self):
        return self._set('off')

    def power_on(self):
        return self._set('on')

    def power_cycle(self):
        return self._set('cycle')

    def power_reset(self):
        return self._set('reset')

    def pulse_diag(self):
        return self._set('diag')

    def power_shutdown(self):
        return self._set('shutdown')

    def cold_reset(self):
        return 0

    def get_system_guid(self):
        return self.uuid

    # -- packet entry points, where faults are injected -------------------
    def process_pktqueue(self):
        with _SERVER_LOCK:
            super().process_pktqueue()

    def sessionless_data(self, data, sockaddr):
        if self.handle.is_unreachable:
            return
        data = bytearray(data)
        # Same test pyghmi uses to spot an RMCP+ open-session request; route
        # it to our session class (the only change from the parent's code).
        if (len(data) >= 22 and data[0] == 6 and data[2:4] == b'\xff\x07'
                and data[4] == 6
                and data[5] == ipmi_constants.payload_types['rmcpplusopenreq']):
            _LabServerSession(self.authdata, self.kg, sockaddr,
                              self.serversocket, data[16:], self.uuid,
                              bmc=self)
            return
        super().sessionless_data(data, sockaddr)

    def handle_raw_request(self, request, session):
        delay = self.handle.delay
        if delay > 0:
            # The listen loop serves every BMC: never sleep in it.  Answer
            # from a timer thread instead, like a BMC busy for ``delay`` s.
            timer = threading.Timer(delay, self._handle_late,
                                    args=(request, session))
            timer.daemon = True
            timer.start()
            return
        self._handle_now(request, session)

    def _handle_late(self, request, session):
        with _SERVER_LOCK:
            if self.handle.is_unreachable:
                return
            self._handle_now(request, session)

    def _handle_now(self, request, session):
        if (request['netfn'] == _IPMI_NETFN_CHASSIS
                and request['command'] == _IPMI_CMD_CHASSIS_CONTROL
                and request['data']):
            LOG.debug('BMC %s: chassis control %s', self.handle.name,
                      _CHASSIS_DIRECTIVES.get(request['data'][0],
                                              request['data'][0]))
        super().handle_raw_request(request, session)


class PowerState:
    """The power of a host that is nothing else: what a BMC of
    :class:`BmcServer` drives when no lab host stands behind it (fencing
    tests, benchmarks).  ``requests`` lists every state asked for."""

    def __init__(self, power='on'):
        self.power = power
        self.requests = []

    def get_power(self):
        return self.power

    def set_power(self, state):
        self.requests.append(state)
        if state in ('off', 'shutdown'):
            self.power = 'off'
        elif state in ('on', 'reset', 'cycle', 'boot'):
            self.power = 'on'
        return self.power


class BmcHandle:
    """A virtual BMC added to a :class:`BmcServer`, with fault switches.

    The password is kept only inside pyghmi's auth table; it never appears in
    ``repr`` or logs.
    """

    def __init__(self, name, address, port, username, get_power, set_power):
        self.name = name
        self.address = address
        self.port = port
        self.username = username
        self.get_power = get_power
        self.set_power = set_power
        self.delay = 0.0
        self.is_unreachable = False
        self._bmc = None

    def slow(self, seconds):
        """Delay every answer to an IPMI command by ``seconds``."""
        self.delay = float(seconds)
        return self

    def unreachable(self, flag=True):
        """Drop every packet (``True``) or serve again (``False``)."""
        self.is_unreachable = bool(flag)
        return self

    def clear(self):
        """Remove every injected fault."""
        self.delay = 0.0
        self.is_unreachable = False
        return self

    def __repr__(self):
        return '<BmcHandle %s %s:%d user=%s%s%s>' % (
            self.name, self.address, self.port, self.username,
            ' slow=%.1fs' % self.delay if self.delay else '',
            ' unreachable' if self.is_unreachable else '')


class BmcServer:
    """Serves any number of virtual IPMI BMCs from one listen thread.

    ``address`` defaults to loopback: pyghmi's own default ('::') would
    bind every interface.
    """

    def __init__(self, address='127.0.0.1'):
        self.address = address
        self._bmcs = {}
        self._thread = None
        self._running = False
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)

    def add(self, name, port, username, password, get_power, set_power):
        """Create the BMC ``name`` on UDP ``port``; return its :class:`BmcHandle`.

        BMCs can be added before or after :meth:`start`.
        """
        with self._lock:
            if name in self._bmcs:
                raise ValueError('BMC %r already exists' % name)
            handle = BmcHandle(name, self.address, int(port), username,
                               get_power, set_power)
            handle._bmc = _LabBmc(handle, {username: password},
                                  port=int(port), address=self.address)
            self._bmcs[name] = handle
        self._wake()
        LOG.debug('virtual BMC %s listening on %s:%d', name, self.address,
                  int(port))
        return handle

    def remove(self, name):
        """Stop serving BMC ``name`` and free its port."""
        with self._lock:
            handle = self._bmcs.pop(name, None)
        if handle is not None:
            handle.is_unreachable = True
            self._wake()
            with _SERVER_LOCK:
                self._close(handle._bmc)

    def __getitem__(self, name):
        return self._bmcs[name]

    def __iter__(self):
        return iter(list(self._bmcs.values()))

    def start(self):
        """Start the listen loop in a daemon thread (idempotent)."""
        with self._lock:
            if self._thread is not None:
                return self
            self._running = True
            self._thread = threading.Thread(target=self._listen,
                                            name='vmr-lab-bmc', daemon=True)
            self._thread.start()
        return self

    def _wake(self):
        """Make the listen loop re-read the BMC list now."""
        try:
            os.write(self._wake_w, b'x')
        except OSError:
            pass

    def _listen(self):
        while self._running:
            with self._lock:
                by_socket = {h._bmc.serversocket: h._bmc
                             for h in self._bmcs.values()}
            try:
                # The wake-up pipe makes add/remove/stop take effect at
                # once; the timeout is only a safety net.
                readable = fdwait.readable([self._wake_r] + list(by_socket),
                                           1.0)
            except (OSError, ValueError):
                continue  # a socket was closed by remove() or stop()
            for sock in readable:
                if sock == self._wake_r:
                    os.read(self._wake_r, 512)
                    continue
                self._drain(by_socket[sock], sock)

    @staticmethod
    def _drain(bmc, sock):
        while True:
            try:
                # pyghmi's sendto switches the socket to blocking mode
                data, sockaddr = sock.recvfrom(3000, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                bmc.dispatch(data, sockaddr)
            except Exception:  # one bad packet must not kill every BMC
                LOG.exception('virtual BMC %s: error handling a packet',
                              bmc.handle.name)

    def stop(self):
        """Stop serving and close every BMC socket."""
        with self._lock:
            self._running = False
            thread, self._thread = self._thread, None
            bmcs, self._bmcs = list(self._bmcs.values()), {}
        self._wake()
        if thread is not None:
            thread.join(timeout=5)
        for handle in bmcs:
            self._close(handle._bmc)

    @staticmethod
    def _close(bmc):
        sock = bmc.serversocket
        ipmisession.Session.bmc_handlers.pop(sock, None)
        try:
            ipmisession.iosockets.remove(sock)
        except ValueError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

