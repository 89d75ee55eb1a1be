"""Request ids recorded by actions are the ones the services logged, and
steps running side by side on one Connection never mix them."""

import threading

from tests.labfixtures import boot
from tests.support.actions import context, run


def test_request_id_is_novas_and_per_thread(lab, conn):
    servers = [boot(conn, 'web-%d' % i, 'compute-1') for i in range(4)]
    results = {}

    def step(server):
        results[server.id] = run('live_migrate', {},
                                 context(conn, server, 'compute-1'))[0]
    threads = [threading.Thread(target=step, args=(s,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    for server in servers:
        action = results[server.id]
        # One changing call per step: its own os-migrateLive POST, which
        # Nova recorded in that server's instance actions.
        assert len(action.request_ids) == 1
        nova_ids = {a.request_id for a in conn.compute.server_actions(server)
                    if a.action == 'live-migration'}
        assert action.request_ids == list(nova_ids)
    assert lab.monitor.violations() == []
