"""Entry point for oslo-config-generator (``oslo.config.opts``: ``vmr``)."""

from vmr_common import conf as vmr_conf


def list_opts():
    """Every VMR option group, for the sample config and the docs."""
    result = []
    for module in vmr_conf.option_modules():
        result.extend(module.list_opts())
    return result
