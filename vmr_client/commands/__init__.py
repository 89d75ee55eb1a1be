"""The ``vmr`` commands.  :class:`Lister` and :class:`ShowOne` are cliff's,
with :class:`~vmr_client.render.Shown` cells as text in tables and ``-f
value``/``csv`` and as values in ``-f json``/``yaml``."""

from cliff import lister, show

from vmr_client import render


def api(app):
    """The API client of the running application: ``vmr``'s own, or the
    one OSC built (``openstack vmr ...``, :mod:`vmr_client.osc`)."""
    manager = getattr(app, 'client_manager', None)
    if manager is not None:
        return manager.vmr
    return app.client


class Lister(lister.Lister):

    def produce_output(self, parsed_args, column_names, data):
        data = [render.humanize(row, parsed_args.formatter) for row in data]
        return super().produce_output(parsed_args, column_names, data)


class ShowOne(show.ShowOne):

    def produce_output(self, parsed_args, column_names, data):
        data = render.humanize(data, parsed_args.formatter)
        return super().produce_output(parsed_args, column_names, data)
