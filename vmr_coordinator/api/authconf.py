"""The API's Keystone settings: ``[keystone_authtoken]`` registered and
checked (by the server at start and by the preflight)."""

from vmr_common import exceptions


def register_keystone_opts(conf):
    """Register ``[keystone_authtoken]`` on ``conf`` (idempotent), so it can
    be set before the middleware reads it at construction."""
    from keystonemiddleware import auth_token
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)


def check_auth_config(conf):
    """Refuse keystone mode without a way to validate tokens.

    Without ``[keystone_authtoken] auth_type`` keystonemiddleware cannot
    validate any token and fails every request; saying so at start-up is
    kinder than a stream of 500s. Raises :class:`ConfigError`.
    """
    if conf.api.auth_strategy != 'keystone':
        return
    register_keystone_opts(conf)
    section = conf.keystone_authtoken
    if not section.auth_type and not section.auth_section:
        raise exceptions.ConfigError(
            '[api] auth_strategy = keystone but [keystone_authtoken] has no '
            'auth_type: set auth_type = password, auth_url, the service '
            'user\'s username/password/project and www_authenticate_uri; '
            'or, in a lab without Keystone, set [api] auth_strategy = noauth')
