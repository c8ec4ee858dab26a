"""Run by ``test_sentry.py`` in a fresh process (``python -m tests.config.sentry_probe``), with SENTRY_DSN set.

A fresh process because ``sentry_sdk.init`` patches Django for the life of
the process; the suite's own process must stay as production runs without a
DSN. The view fails with every kind of secret in reach; the events reach the
test's stand-in Sentry, which checks what they carry.
"""

import logging

from django.urls import path
from django.views.decorators.csrf import csrf_exempt

PHONE = "+8613800138000"
CODE = "135791"
PASSWORD = "Probe-pass-77"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJlLXByb2Jl"


@csrf_exempt  # a form post from a script, no CSRF cookie to compare
def fail(request):
    logging.getLogger("probe").error("could not notify %s about code %s", PHONE, CODE)
    password = PASSWORD  # a local variable: events must not carry frames' locals
    raise RuntimeError(f"sending code {CODE} to {PHONE} failed ({len(password)})")


urlpatterns = [path("fail/", fail)]


def main() -> None:
    import threading
    import urllib.error
    import urllib.parse
    import urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import django

    django.setup()
    import sentry_sdk
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    assert sentry_sdk.get_client().is_active(), "SENTRY_DSN was set: the client must be active"
    with override_settings(ROOT_URLCONF="tests.config.sentry_probe", ALLOWED_HOSTS=["127.0.0.1"]):
        # A real WSGI server: Sentry reads the request (URL, headers, query) from the WSGI environ.
        server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        query = urllib.parse.urlencode({"code": CODE, "phone": "13800138000"})
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_address[1]}/fail/?{query}",
            data=urllib.parse.urlencode({"phone": PHONE, "password": PASSWORD, "code": CODE}).encode(),
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Cookie": f"csrftoken={TOKEN}",
                "X-Forwarded-For": "203.0.113.7",
            },
        )
        try:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310 - our own local server
        except urllib.error.HTTPError as exc:
            assert exc.code == 500, exc.code
        else:
            raise AssertionError("the view should have failed")
        server.shutdown()
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    main()
