"""The real tier: pinned OpenStack releases run on 127.0.0.1.

:mod:`.install` builds their virtualenv, :mod:`.infra` runs a private
MariaDB and RabbitMQ, :mod:`.services` runs Keystone, Placement, Nova (one
nova-compute per simulated host, with our :mod:`.vmrfake` driver) and Glance.
"""
