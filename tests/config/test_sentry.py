"""Error reports: sent to Sentry only when SENTRY_DSN is set, and scrubbed of phone numbers, codes and tokens."""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sentry_sdk

from tests.config import sentry_probe

ROOT = Path(__file__).resolve().parents[2]


class SentryStandIn:
    """Receives envelopes at /api/<project>/envelope/ like Sentry does, and keeps their items."""

    def __init__(self):
        self.items: list[tuple[dict, bytes]] = []
        self.raw: list[bytes] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                stand_in.raw.append(body)
                stand_in.items.extend(_envelope_items(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"

    def events(self) -> list[dict]:
        return [json.loads(payload) for header, payload in self.items if header.get("type") == "event"]


def _envelope_items(body: bytes):
    lines = body.split(b"\n")
    index = 1  # line 0 is the envelope header
    while index < len(lines) and lines[index].strip():
        header = json.loads(lines[index])
        length = header.get("length")
        if length is None:
            payload = lines[index + 1]
            index += 2
        else:
            rest = b"\n".join(lines[index + 1 :])
            payload = rest[:length]
            consumed = payload.count(b"\n") + 1
            index += 1 + consumed
        yield header, payload


def test_nothing_is_reported_without_a_dsn():
    assert not os.environ.get("SENTRY_DSN")
    assert not sentry_sdk.get_client().is_active()


def test_an_error_reaches_sentry_with_phone_numbers_codes_tokens_and_passwords_scrubbed(tmp_path):
    stand_in = SentryStandIn()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SENTRY_")) and k != "REDIS_URL"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.faults.server_settings",  # production, minus collectstatic
            "DJANGO_SECRET_KEY": "probe-" + "k" * 50,
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "SENTRY_DSN": stand_in.dsn,
            "SENTRY_ENVIRONMENT": "test",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.config.sentry_probe"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    stand_in.server.shutdown()
    assert done.returncode == 0, done.stderr.decode()[-3000:]

    events = stand_in.events()
    kinds = {(e.get("exception") or {}).get("values", [{}])[0].get("type") or "log" for e in events}
    assert {"RuntimeError", "log"} <= kinds, kinds
    crash = next(e for e in events if e.get("exception"))
    assert crash["environment"] == "test"
    assert crash["request"]["url"].endswith("/fail/") and crash["request"]["method"] == "POST"
    assert crash["tags"]["request_id"]  # leads to the log lines of the same request
    everything = b"\n".join(stand_in.raw).decode()
    for secret in (sentry_probe.PHONE, "13800138000", sentry_probe.CODE, sentry_probe.PASSWORD, sentry_probe.TOKEN):
        assert secret not in everything, secret
    assert "203.0.113.7" not in everything  # no client address: send_default_pii is off
    assert "+86138****8000" in everything  # the reports stay readable
