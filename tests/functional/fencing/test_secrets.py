"""The BMC password never shows: logs, any process's argv, results, errors."""

import logging
import os
import threading
import time

import pytest

from tests.support.fencing import needs_fence_ipmilan
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder
from vmr_coordinator.fencing import profiles as fp

PASSWORD = 'Zq7-never-LEAK-9x'


class CmdlineScanner:
    """Reads /proc/*/cmdline of every process, over and over, in a thread."""

    def __init__(self, secret):
        self.secret = secret.encode()
        self.leaks = []
        self.seen = set()
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid in os.listdir('/proc'):
                if not pid.isdigit():
                    continue
                try:
                    with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                        cmdline = handle.read()
                except OSError:
                    continue
                if self.secret in cmdline:
                    self.leaks.append(cmdline.replace(b'\0', b' '))
                for word in (b'fence_ipmilan', b'ipmitool'):
                    if word in cmdline:
                        self.seen.add(word.decode())
            self.passes += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


@needs_fence_ipmilan
def test_password_never_in_logs_argv_results_or_errors(make_bmc, conf,
                                                       caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    bmc = make_bmc(password=PASSWORD)
    texts = []

    # 1. a ladder whose first rungs fail in every way, then fence_agent wins
    dead = make_bmc(password=PASSWORD)
    dead.handle.unreachable(True)
    profile_file = tmp_path / 'fence-profiles.yaml'
    profile_file.write_text('''
profiles:
  p:
    hosts:
      compute-1: {address: 127.0.0.1}
    ladder:
      - {driver: ipmi, port: %(dead)d, username: %(user)s,
         password: "%(pw)s", timeout: 1}
      - {driver: ipmi, port: %(port)d, username: nobody, password: "%(pw)s",
         timeout: 1}
      - {driver: fence_agent, agent: fence_doesnotexist, password: "%(pw)s"}
      - {driver: redfish, address: "http://127.0.0.1:1", username: u,
         password: "%(pw)s", timeout: 2}
      - driver: fence_agent
        agent: fence_ipmilan
        port: %(port)d
        username: %(user)s
        password: "%(pw)s"
        options: {lanplus: 1, power_wait: 0, stonith_status_sleep: 0}
        timeout: 10
''' % {'port': bmc.port, 'dead': dead.port, 'user': bmc.username,
       'pw': PASSWORD})
    os.chmod(profile_file, 0o600)
    profiles = fp.FenceProfiles.load(str(profile_file))
    prof = profiles.profile_for('compute-1')
    target = base.FenceTarget(host='compute-1', now=time.time())
    with CmdlineScanner(PASSWORD) as scanner:
        result = ladder.run_ladder(target, prof, conf)
        # and once more directly, so the scan covers a whole agent run
        agent = base.load_fencer('fence_agent', bmc.agent_options(), conf)
        texts.append(str(agent.unfence(target).to_dict()))
        texts.append(str(agent.fence(target, 10).to_dict()))
    assert result.verified and result.method == 'fence_agent', result.reason
    assert [a.verified for a in result.attempts] == [False] * 4 + [True]
    assert scanner.leaks == []
    assert 'fence_ipmilan' in scanner.seen, 'the scan never saw the agent run'
    texts += [result.reason, str(result.to_dict()), repr(prof),
              str(prof.describe()), repr(profiles)]
    texts += [a.error or '' for a in result.attempts]

    # 2. exceptions: bad options, bad file mode, bad YAML
    for options in ({'username': 'u', 'password': PASSWORD},
                    {'address': 'a', 'username': 'u', 'password': PASSWORD,
                     'bogus': PASSWORD}):
        with pytest.raises(base.FenceConfigError) as err:
            base.load_fencer('ipmi', options, conf, context='rung 1')
        texts.append(str(err.value))
    os.chmod(profile_file, 0o644)
    with pytest.raises(base.FenceConfigError) as err:
        fp.FenceProfiles.load(str(profile_file))
    texts.append(str(err.value))
    profile_file.write_text('profiles: {p: {ladder: [{password: "%s' % PASSWORD)
    os.chmod(profile_file, 0o600)
    with pytest.raises(base.FenceConfigError) as err:
        fp.FenceProfiles.load(str(profile_file))
    texts.append(str(err.value))

    texts += [record.getMessage() for record in caplog.records]
    texts.append(caplog.text)
    leaked = [t for t in texts if PASSWORD in t]
    assert leaked == []
