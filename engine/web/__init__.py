"""The HTTP side of dibs (SPEC §10): `dibs serve`'s JSON API, webhook receivers and auth.

`app.create_app(service, settings)` builds the FastAPI application over an open `Service`
(nothing is built at import time); `api` holds the `/api/v1` routes, `webhooks` the channel
receivers, `auth` the bearer token and the dashboard's session and CSRF helpers, `errors` the
one error shape, `server` runs uvicorn with the rule ticks in a background thread. Like
`engine.cli`, this room may read the environment, build engines and start threads.
"""
