"""The ``vmr`` commands.  :class:`Lister` and :class:`ShowOne` are cliff's,
with :class:`~vmr_client.render.Shown` cells as text in tables and ``-f
value``/``csv`` and as values in ``-f json``/``yaml``."""

from cliff import lister, show

from vmr_client import render
from vmr_client.errors import ApiError


def api(app):
    """The API client of the running application: ``vmr``'s own, or the
    one OSC built (``openstack vmr ...``, :mod:`vmr_client.osc`)."""
    manager = getattr(app, 'client_manager', None)
    if manager is not None:
        return manager.vmr
    return app.client


def delete_each(app, path, names, said):
    """DELETE ``path + name`` for each of ``names``, saying ``said % name``
    for each one deleted and the API's own line for each refused; an
    :class:`ApiError` naming the refused ones at the end."""
    failed = []
    for name in names:
        try:
            api(app).delete(path + name)
        except ApiError as exc:
            app.stderr.write('vmr: %s\n' % exc)
            failed.append(name)
            continue
        app.stdout.write(said % name + '\n')
    if failed:
        raise ApiError('%d of %d not done: %s' % (
            len(failed), len(names), ', '.join(failed)))


class Lister(lister.Lister):

    def produce_output(self, parsed_args, column_names, data):
        data = [render.humanize(row, parsed_args.formatter) for row in data]
        return super().produce_output(parsed_args, column_names, data)


class ShowOne(show.ShowOne):

    def produce_output(self, parsed_args, column_names, data):
        data = render.humanize(data, parsed_args.formatter)
        return super().produce_output(parsed_args, column_names, data)
