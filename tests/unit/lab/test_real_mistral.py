"""The real tier's Mistral pieces that need no OpenStack: its configuration
and how it is started."""

from vmr_lab.real import mistral


def test_mistral_conf_runs_actions_in_the_executor_and_reaches_the_lab():
    conf = mistral.conf('mysql+pymysql://x/mistral', 'rabbit://g:g@h:1/',
                        'http://k/v3', 'pw', 8989)
    assert conf['api'] == {'host': '127.0.0.1', 'port': 8989}
    assert conf['executor']['type'] == 'remote'
    assert conf['pecan']['auth_enable'] is True
    assert conf['keystone_authtoken']['username'] == 'mistral'
    # std.http may call the lab on 127.0.0.1, never the metadata range.
    http = conf['action_std_http']
    assert http['allowed_hosts'] == '127.0.0.1'
    assert '127.0.0.0/8' not in http['denied_cidrs']
    assert '169.254.0.0/16' in http['denied_cidrs']


def test_one_process_runs_api_engine_and_executor():
    install = type('Install', (), {'bin': lambda self, name: name})()
    assert mistral.server_argv(install, '/e/m.conf') == [
        'mistral-server', '--config-file', '/e/m.conf',
        '--server', 'api,engine,executor']
    assert mistral.endpoint(8989) == 'http://127.0.0.1:8989/v2'
