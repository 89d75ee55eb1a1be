"""The two functions every option module offers, made once."""

from oslo_config import cfg


def group_functions(group, opts):
    """``(register_opts(conf), list_opts())`` of the option group ``group``
    (an :class:`~oslo_config.cfg.OptGroup`) holding ``opts``."""

    def register_opts(conf):
        # A fresh OptGroup per ConfigOpts: register_group() copies the group
        # shallowly, so a shared module-level group would share its options'
        # overrides between every ConfigOpts of the process (tests build
        # many).
        conf.register_group(cfg.OptGroup(group.name, title=group.title,
                                         help=group.help))
        conf.register_opts(opts, group=group.name)

    def list_opts():
        return [(group, opts)]

    register_opts.__doc__ = 'Register the ``[%s]`` options on ``conf``.' \
        % group.name
    list_opts.__doc__ = 'The ``[%s]`` options, for the sample config.' \
        % group.name
    return register_opts, list_opts
