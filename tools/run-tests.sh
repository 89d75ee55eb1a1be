#!/bin/bash
# Run VMR's default test suite on a fresh Debian 12 / Python 3.11 machine.
#
# As root it first installs the system packages the tests drive for real
# (etcd, keepalived, ipmitool, fence-agents, prometheus-alertmanager for the
# alarm trigger test, prometheus for promtool's checks of the shipped alert
# rules, chromium for the web dashboard's browser test, and MariaDB and
# RabbitMQ for the real tier); then it
# installs tox and runs the lint, unit, functional,
# scenario and real-tier suites in one shared virtualenv. The real tier's
# OpenStack releases install on first use into their own virtualenv
# (/var/cache/vmr-real as root), kept between runs.
# Extra arguments go to tox, e.g. `tools/run-tests.sh -e py3`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q etcd-server keepalived ipmitool fence-agents \
        iproute2 curl python3-venv openssl mariadb-server rabbitmq-server \
        prometheus-alertmanager prometheus \
        >/dev/null
    # The real tier's Cinder: its NFS driver checks for mount.nfs and
    # reads volume files with qemu-img.
    apt-get install -y -q --no-install-recommends nfs-common qemu-utils \
        >/dev/null
    apt-get install -y -q --no-install-recommends chromium >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -m tox --version >/dev/null 2>&1; then
    "$PYTHON" -m pip install -q 'tox>=4'
fi

if [ "$#" -gt 0 ]; then
    exec "$PYTHON" -m tox "$@"
fi
exec "$PYTHON" -m tox -e ci
