"""The one error the ``vmr`` CLI shows an operator instead of a traceback."""


class ApiError(Exception):
    """The API (or the way to it) refused; the message is for the operator.

    ``status`` is the HTTP status when the API answered, ``field`` the
    request field the API named as wrong (if any).
    """

    def __init__(self, message, status=None, field=None):
        super().__init__(message)
        self.status = status
        self.field = field
