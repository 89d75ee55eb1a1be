"""Configuration files of the real tier's OpenStack services.

Each function returns ``{section: {option: value}}``; :func:`write_ini`
writes it.  Options that exist only because this cloud runs on one
machine with fake hypervisors and no network agents say so next to them.
"""

import os

REGION = 'RegionOne'
# Short enough that a killed nova-compute shows "down" within seconds.
REPORT_INTERVAL = 1
SERVICE_DOWN_TIME = 6


def write_ini(path, sections):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lines = []
    for section, options in sections.items():
        lines.append('[%s]' % section)
        for key, value in options.items():
            if isinstance(value, bool):
                value = 'true' if value else 'false'
            lines.append('%s = %s' % (key, value))
        lines.append('')
    with open(path, 'w') as fh:
        fh.write('\n'.join(lines))


def service_auth(auth_url, user, password):
    """keystoneauth password options of a service user in project service."""
    return {
        'auth_type': 'password',
        'auth_url': auth_url,
        'project_name': 'service',
        'project_domain_name': 'Default',
        'username': user,
        'user_domain_name': 'Default',
        'password': password,
        'region_name': REGION,
    }


def authtoken(auth_url, user, password):
    opts = service_auth(auth_url, user, password)
    opts['www_authenticate_uri'] = auth_url
    opts['service_token_roles_required'] = True
    return opts


def keystone(db_url, keydir):
    return {
        'DEFAULT': {'use_stderr': True},
        'database': {'connection': db_url},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': os.path.join(keydir, 'fernet')},
        'credential': {'key_repository': os.path.join(keydir, 'credential')},
        'cache': {'enabled': False},
        # bcrypt's cheapest cost: every token issue checks a password.
        'identity': {'password_hash_rounds': 4},
    }


def placement(db_url, auth_url, password):
    return {
        'DEFAULT': {'use_stderr': True},
        'placement_database': {'connection': db_url},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': authtoken(auth_url, 'placement', password),
    }


def glance(db_url, auth_url, password, state, paste_ini):
    return {
        'DEFAULT': {'use_stderr': True, 'enabled_backends': 'fs:file'},
        'database': {'connection': db_url},
        'keystone_authtoken': authtoken(auth_url, 'glance', password),
        'paste_deploy': {'flavor': 'keystone', 'config_file': paste_ini},
        'glance_store': {'default_backend': 'fs'},
        'fs': {'filesystem_store_datadir': os.path.join(state, 'images')},
        'os_glance_staging_store': {
            'filesystem_store_datadir': os.path.join(state, 'staging')},
        'os_glance_tasks_store': {
            'filesystem_store_datadir': os.path.join(state, 'tasks')},
        'oslo_concurrency': {'lock_path': os.path.join(state, 'lock')},
    }


def nova(db, transport_url, auth_url, password, state, paste_ini):
    """nova.conf shared by nova-api, conductor, scheduler and computes.

    ``db`` maps nova_api / nova / nova_cell0 to their URLs.
    """
    service_user = service_auth(auth_url, 'nova', password)
    return {
        'DEFAULT': {
            'use_stderr': True,
            'transport_url': transport_url,
            'state_path': state,
            'my_ip': '127.0.0.1',
            'enabled_apis': 'osapi_compute',
            'compute_driver': 'vmrfake.VMRFakeDriver',
            'report_interval': REPORT_INTERVAL,
            'service_down_time': SERVICE_DOWN_TIME,
            # Nothing plugs a VIF here and no agent reports one up: the
            # fake driver never waits for network-vif-plugged (Neutron
            # still sends it when our ML2 driver binds a port), and a
            # live migration must not wait for it either.
            'vif_plugging_is_fatal': False,
            'vif_plugging_timeout': 0,
        },
        'wsgi': {'api_paste_config': paste_ini},
        'api': {'auth_strategy': 'keystone'},
        'api_database': {'connection': db['nova_api']},
        'database': {'connection': db['nova']},
        'keystone_authtoken': authtoken(auth_url, 'nova', password),
        'service_user': dict(service_user, send_service_user_token=True),
        'placement': dict(service_user, valid_interfaces='public'),
        'glance': {'region_name': REGION, 'valid_interfaces': 'public'},
        'neutron': dict(service_user, valid_interfaces='public'),
        'compute': {
            # The info cache heal asks Neutron about every instance every
            # minute; Neutron's own events keep the cache right here.
            'heal_instance_info_cache_interval': -1,
        },
        'conductor': {'workers': 1},
        'scheduler': {'workers': 1,
                      # Hosts are mapped by RealServices (nova-manage
                      # cell_v2 discover_hosts) and, for late ones, here.
                      'discover_hosts_in_cells_interval': 5},
        'vnc': {'enabled': False},
        'oslo_concurrency': {'lock_path': os.path.join(state, 'lock')},
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
    }


#: Where Nova publishes its (unversioned) notifications when Aodh runs:
#: exchange ``nova``, topic ``notifications``, priorities info and error.
NOVA_NOTIFICATION_TOPIC = 'notifications'


def nova_notifications():
    """The nova.conf overlay that makes Nova publish notifications.

    Off by default (no driver: Nova sends nothing); the real tier turns it
    on only when Aodh runs, for the event bridge to read.  The legacy
    unversioned format is the one Ceilometer's event definitions know
    (``compute.instance.*``); it is Nova 34's default, said here anyway.
    """
    return {
        'oslo_messaging_notifications': {
            'driver': 'messagingv2', 'topics': NOVA_NOTIFICATION_TOPIC},
        'notifications': {'notification_format': 'unversioned'},
    }


def nova_compute(host, state_path):
    """The per-host overlay of one nova-compute."""
    return {
        'DEFAULT': {'host': host, 'state_path': state_path,
                    'instances_path': os.path.join(state_path, 'instances')},
        'oslo_concurrency': {'lock_path': os.path.join(state_path, 'lock')},
    }


#: The provider network of ``public`` (flat) and of tenant networks (vlan).
PUBLIC_PHYSNET = 'public'
TENANT_PHYSNET = 'physnet1'


def neutron(db_url, transport_url, auth_url, password, state, paste_ini):
    """neutron.conf: ML2 core plugin, the L3 router plugin, no agents."""
    return {
        'DEFAULT': {
            'use_stderr': True,
            'transport_url': transport_url,
            'state_path': state,
            'api_paste_config': paste_ini,
            'auth_strategy': 'keystone',
            'core_plugin': 'ml2',
            # Routers and floating IPs in the database; no L3 agent runs,
            # so nothing is wired (and nothing needs to be).
            'service_plugins': 'router',
            'allow_overlapping_ips': True,
            # No DHCP agent to tell about ports.
            'dhcp_agent_notification': False,
            'notify_nova_on_port_status_changes': True,
            'notify_nova_on_port_data_changes': True,
        },
        'database': {'connection': db_url},
        'keystone_authtoken': authtoken(auth_url, 'neutron', password),
        # The credentials Neutron sends Nova its port events with.
        'nova': dict(service_auth(auth_url, 'neutron', password),
                     endpoint_type='public'),
        # Room for tests that create groups and rules in a shared project.
        'quotas': {'quota_security_group': 100,
                   'quota_security_group_rule': 1000,
                   'quota_floatingip': 200, 'quota_router': 50,
                   'quota_network': 200, 'quota_subnet': 200,
                   'quota_port': 2000},
        'oslo_concurrency': {'lock_path': os.path.join(state, 'lock')},
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
    }


def ml2():
    """ml2_conf.ini: flat and vlan segments bound by our ``vmrfake`` driver.

    Neither type needs a kernel here: nothing is plugged, the segments are
    rows in Neutron's database.
    """
    return {
        'ml2': {
            'type_drivers': 'flat,vlan',
            'tenant_network_types': 'vlan',
            'mechanism_drivers': 'vmrfake',
            'extension_drivers': 'port_security',
        },
        'ml2_type_flat': {'flat_networks': PUBLIC_PHYSNET},
        'ml2_type_vlan': {'network_vlan_ranges':
                          '%s:100:999' % TENANT_PHYSNET},
        'securitygroup': {'enable_security_group': True},
    }


#: Aodh's defaults, said here because the event bridge must agree with them:
#: aodh-listener reads event notifications of priority ``sample`` on
#: ``[listener] event_alarm_topic``; the evaluators hand alarms to
#: aodh-notifier on ``notifier_topic``.
AODH_EVENT_TOPIC = 'alarm.all'
AODH_NOTIFIER_TOPIC = 'alarming'


def aodh(db_url, transport_url, auth_url, password, paste_ini):
    """aodh.conf of aodh-api, -evaluator, -notifier and -listener."""
    return {
        'DEFAULT': {
            'use_stderr': True,
            'transport_url': transport_url,
            'notifier_topic': AODH_NOTIFIER_TOPIC,
            # aodh-listener caches each project's event alarms for 60 s by
            # default: an alarm created less than a minute after any event
            # of its project would not be seen.  A lab creates alarms and
            # fires them within seconds.
            'event_alarm_cache_ttl': 0,
        },
        'database': {'connection': db_url},
        'api': {'auth_mode': 'keystone', 'paste_config': paste_ini},
        'keystone_authtoken': authtoken(auth_url, 'aodh', password),
        # What the evaluators record alarm history and get trust tokens
        # (trust+http actions) with.
        'service_credentials': dict(service_auth(auth_url, 'aodh', password),
                                    interface='public'),
        'listener': {'event_alarm_topic': AODH_EVENT_TOPIC},
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
    }


def aodh_paste(text, conf_path):
    """Aodh's api-paste.ini, its keystonemiddleware reading ``conf_path``.

    Aodh's paste file gives auth_token ``oslo_config_project = aodh``: the
    middleware then loads a configuration of its own from the default
    places (``/etc/aodh/aodh.conf``), not the file the API was started
    with; ``oslo_config_file`` names the file to load instead.
    """
    marker = '[filter:authtoken]\n'
    if marker not in text:
        raise RuntimeError("Aodh's api-paste.ini has no [filter:authtoken]")
    return text.replace(marker, marker + 'oslo_config_file = %s\n'
                        % conf_path)
