"""Real processes for the fault tests: a private Redis, a TCP proxy in front of PostgreSQL, gunicorn.

Nothing here is a mock: the app under test is the production WSGI app served
by gunicorn with the production settings (``tests.faults.server_settings``
changes only how static files are looked up), talking to a redis-server of
its own and to the test database — directly or through ``TcpProxy``, which
the test can close to make PostgreSQL unreachable.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]

# Variables of the developer's or CI's shell that must not leak into the served app.
_OWN_PREFIXES = ("DJANGO_", "SMS_", "ACCOUNTS_", "THROTTLE_", "SENTRY_", "METRICS_", "LOG_", "JWT_", "WALLET_")
_OWN_NAMES = {"DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX", "PROMETHEUS_MULTIPROC_DIR", "TRUSTED_PROXY_COUNT"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence: a restart comes back empty."""

    def __init__(self, directory: Path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _pings(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        assert self.binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.directory), "--logfile", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self._pings, timeout=10, what="redis-server")

    def kill(self) -> None:
        """SIGKILL: the way a crash or an OOM kill ends it (nothing saved, connections reset)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: still accepting connections, answering nothing (a hung or swapping server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGCONT)
        self.kill()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``close()`` refuses new connections and cuts the open ones."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        with self._lock:
            self._sockets.discard(sock)

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            self._drop(sock)


def database_url(settings_dict: dict, *, host: str | None = None, port: int | None = None, app_name: str) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{password}" if password else user
    host = host or settings_dict.get("HOST") or "127.0.0.1"
    port = port or settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings_dict['NAME']}?application_name={app_name}"


class AppServer:
    """``gunicorn config.wsgi -c config/gunicorn.py`` with two workers, on a free port."""

    TEST_PHONE = "+8613800000001"
    TEST_CODE = "246810"

    def __init__(self, *, database_url: str, redis_url: str, log_path: Path, extra_env: dict | None = None):
        self.port = free_port()
        self.log_path = log_path
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(_OWN_PREFIXES) and key not in _OWN_NAMES
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tests.faults.server_settings",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_SECURE_COOKIES": "0",
                "DJANGO_SECURE_HSTS_SECONDS": "0",
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "LOG_FORMAT": "json",
                "SMS_BACKEND": "locmem",
                "SMS_TEST_NUMBERS": f"{self.TEST_PHONE}:{self.TEST_CODE}",
                # The traffic below repeats itself quickly: only the limits under test stay on.
                "SMS_RESEND_INTERVAL": "0",
                "SMS_PHONE_HOURLY_LIMIT": "0",
                "SMS_PHONE_DAILY_LIMIT": "0",
                "SMS_IP_HOURLY_LIMIT": "0",
                "THROTTLE_SMS_SEND": "100000/m",
                "THROTTLE_SMS_VERIFY": "100000/m",
                "ACCOUNTS_LOGIN_IP_RATE": "100000/m",
                "WEB_CONCURRENCY": "2",
                "GUNICORN_TIMEOUT": "20",
            }
        )
        env.update(extra_env or {})
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log()[-3000:]}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def start(self) -> None:
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            # --preload: the app is imported once, before the workers fork (a faster start).
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py", "--preload"]
            + ["--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        _wait_for(self._answers, timeout=45, what="gunicorn")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: nothing to drain here
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        with contextlib.suppress(AttributeError):
            self._log_file.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict]:
        """The server's JSON log lines (``LOG_FORMAT=json``), parsed; other output (warnings) is skipped."""
        records = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records


@dataclass
class Timeline:
    """What each request got, and when, for the assertions and the report (printed with ``-s``)."""

    base_url: str
    started: float = field(default_factory=time.perf_counter)
    rows: list[tuple[float, str, str, float]] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def note(self, text: str) -> None:
        self.rows.append((time.perf_counter() - self.started, f"-- {text} --", "", 0.0))

    def call(self, label: str, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        began = time.perf_counter()
        response = self.session.request(method, self.base_url + path, **kwargs)
        elapsed = time.perf_counter() - began
        code = ""
        if response.headers.get("Content-Type", "").startswith("application/json"):
            with contextlib.suppress(ValueError):
                body = response.json()
                code = body.get("code", "") if isinstance(body, dict) else ""
        elif "text/html" in response.headers.get("Content-Type", ""):
            title = re.search(r"<title>(.*?)</title>", response.text, re.S)
            code = f"page: {title.group(1).strip()}" if title else "page"
        self.rows.append((began - self.started, label, f"{response.status_code} {code}".strip(), elapsed))
        return response

    def render(self) -> str:
        lines = [f"{'t (s)':>7}  {'request':<44} {'answer':<40} {'took (ms)':>9}"]
        for at, label, answer, took in self.rows:
            lines.append(f"{at:7.2f}  {label:<44} {answer:<40} {took * 1000:9.1f}")
        return "\n".join(lines)
