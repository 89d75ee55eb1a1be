"""VMR's REST API, served by every coordinator.

``server.start_api(conf, store, coordinator)`` starts it (cheroot, in a
thread); ``app.make_app`` builds the WSGI callable; ``resources`` holds the
endpoints, ``policy`` the oslo.policy defaults, ``webhooks`` the alarm
receivers' authentication and ``openapi`` the OpenAPI 3.1 document.
"""
