"""[notifications] options of vmr-coordinator: recovery events on the
cloud's message bus (oslo.messaging), off by default.

The leader publishes ``vmr.host.failed``, ``vmr.recovery.start``,
``vmr.recovery.end`` and ``vmr.step.failed`` (doc/operator-guide.rst,
"Notifications"); it needs ``pip install vmr[notifications]``.
"""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup('notifications', title='Notifications on the message '
                                            'bus')

OPTS = [
    cfg.BoolOpt('enabled', default=False,
                help='Publish recovery events on the message bus through '
                     'oslo.messaging (install vmr[notifications]).'),
    cfg.StrOpt('transport_url', secret=True,
               help='oslo.messaging transport URL of the bus, e.g. '
                    'rabbit://vmr:PASSWORD@rabbit.example.org:5672/ '
                    '(the password is never logged). Required when '
                    'enabled.'),
    cfg.StrOpt('driver', default='messagingv2',
               choices=['messagingv2', 'messaging', 'log', 'noop'],
               help="oslo.messaging notification driver: messagingv2 (the "
                    "OpenStack services' default), messaging (v1 "
                    "envelope), log or noop."),
    cfg.ListOpt('topics', default=['notifications'],
                help='Topics the events are sent to (the consumers listen '
                     'on <topic>.info and <topic>.error).'),
    cfg.IntOpt('queue_size', default=1000, min=1,
               help='Events waiting for the bus. The engine never waits for '
                    'the bus: when the bus is down and the queue is full, '
                    'the oldest event is dropped and that is logged.'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
