"""Local HTTP stand-ins for the payment providers, and RSA keys made for each test session.

A stand-in is a real ``http.server`` in a thread: the adapters talk to it
through their SDKs exactly as they would to Alipay or WeChat Pay, the handler
checks each request's signature with the public key made here, and answers
signed with the provider key made here. Nothing reaches the internet.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@dataclass
class Received:
    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] | None = None


class StandIn:
    """Records every request and answers with ``handler(request) -> Reply``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.handler: Callable[[Received], Reply] = lambda request: Reply(404)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                stand_in.requests.append(request)
                reply = stand_in.handler(request)
                self.send_response(reply.status)
                for name, value in (reply.headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


class KeyPair:
    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public = self.private.public_key()

    @property
    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    @property
    def public_base64(self) -> str:
        """The bare base64 body, as the providers' consoles show a key."""
        return "".join(self.public_pem.strip().splitlines()[1:-1])

    def sign(self, message: str) -> str:
        return base64.b64encode(self.private.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()

    def verifies(self, message: str, signature: str) -> bool:
        try:
            self.public.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return False
        return True


@pytest.fixture(scope="session")
def merchant_key() -> KeyPair:
    """Our side: the Alipay app key / the WeChat Pay merchant API key."""
    return KeyPair()


@pytest.fixture(scope="session")
def provider_key() -> KeyPair:
    """The provider's side: Alipay's key / WeChat Pay's platform key."""
    return KeyPair()


@pytest.fixture(scope="session")
def stranger_key() -> KeyPair:
    """Someone else's key: what a forger would sign with."""
    return KeyPair()
