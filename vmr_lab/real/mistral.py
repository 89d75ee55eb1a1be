"""Mistral 23 in the real tier: api, engine and executor, started on demand.

One ``mistral-server --server api,engine,executor`` process (oslo.service
forks one child per component; they share its process group, so
:meth:`vmr_lab.real.procs.Proc.stop` ends them all) with its own database
in the run's MariaDB, the run's RabbitMQ and the run's Keystone.  The API
serves ``/v2`` on 127.0.0.1 behind keystonemiddleware; the catalog names it
``workflowv2`` like the lab's simulator does.

Only ``mistral-db-manage upgrade head`` runs: Mistral 23 finds the
``std.*`` actions at run time (its ``legacy`` action provider reads the
``mistral.actions`` entry points), so ``populate`` -- which also writes
the standard workflows nobody here uses -- is not needed for a workflow
to run ``std.http``, ``std.echo`` or ``std.fail``.  Without
``mistral-extra`` there are no OpenStack actions (``nova.*``).
"""

import os
import time

from vmr_lab.real import config as real_config
from vmr_lab.real.procs import run

#: the database Mistral gets in the run's MariaDB
DATABASE = 'mistral'
#: oslo.messaging topics the engine and the executor consume
ENGINE_TOPIC = 'mistral_engine'
EXECUTOR_TOPIC = 'mistral_executor'
COMPONENTS = ('api', 'engine', 'executor')
#: Keystone's service type of Mistral's v2 API
SERVICE_TYPE = 'workflowv2'


def endpoint(port):
    """The catalog URL of Mistral's v2 API on ``port``."""
    return 'http://127.0.0.1:%d/v2' % port


def conf(db_url, transport_url, auth_url, password, port):
    """mistral.conf of the api, engine and executor."""
    return {
        'DEFAULT': {
            'use_stderr': True,
            'transport_url': transport_url,
            'auth_type': 'keystone',
        },
        'api': {'host': '127.0.0.1', 'port': port},
        'database': {'connection': db_url},
        'pecan': {'auth_enable': True},
        'keystone_authtoken': real_config.authtoken(auth_url, 'mistral',
                                                    password),
        # Actions run in the executor process, as in a deployment.
        'executor': {'type': 'remote'},
        # No cron triggers here; otherwise the API runs their periodic
        # task itself (deprecated) and logs a warning every start.
        'cron_trigger': {'enabled': False},
        # Mistral 23 refuses std.http to loopback and link-local addresses
        # by default (SSRF): "URL host '127.0.0.1' resolves to a blocked
        # address".  Everything of the lab listens on 127.0.0.1, so allow
        # that host alone and keep the metadata range blocked.
        'action_std_http': {'allowed_hosts': '127.0.0.1',
                            'denied_cidrs': '169.254.0.0/16,fe80::/10'},
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
    }


def sync_database(install, conf_path, log_dir):
    """``mistral-db-manage upgrade head``; its seconds."""
    t0 = time.monotonic()
    run([install.bin('mistral-db-manage'), '--config-file', conf_path,
         'upgrade', 'head'],
        os.path.join(log_dir, 'mistral-db-manage.log'))
    return round(time.monotonic() - t0, 2)


def server_argv(install, conf_path):
    """The one process that runs every component."""
    return [install.bin('mistral-server'), '--config-file', conf_path,
            '--server', ','.join(COMPONENTS)]
