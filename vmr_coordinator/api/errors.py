"""The API's one error type: raised by the router and the resources,
rendered by the app as ``{"error": {...}}``."""


class ApiError(Exception):
    """An answer other than success: rendered as ``{"error": {...}}``.

    ``field`` names the offending request field, when there is one.
    """

    def __init__(self, status, message, field=None, headers=None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.field = field
        self.headers = headers or {}
