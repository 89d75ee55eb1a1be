"""Re-export of the lab's etcd runner for tests (see vmr_lab/etcd.py)."""

from vmr_lab.etcd import EtcdServer, find_etcd  # noqa: F401
from vmr_lab.ports import free_port  # noqa: F401
