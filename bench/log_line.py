"""CPU of one ``request`` log line, in-process: the production logging setup writing to /dev/null.

    .venv/bin/python bench/log_line.py [--lines 20000]

Every request writes one line through ``config.logs`` (structlog, the stdlib
handler, redaction, the JSON renderer), so its cost is paid by every endpoint.
Prints the best of three runs of ``--lines`` lines, in microseconds of thread
CPU per line. Compare two versions by running each in turn, alternated.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20000)
    options = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-only-secret-key-not-for-production-use-0123456789",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    import structlog

    from config.logs import request_logger

    with open(os.devnull, "w") as sink:  # noqa: PTH123 - a stream for the handler
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sink)
        structlog.contextvars.bind_contextvars(
            request_id="3f2a9c0d1e4b4a55a0b1c2d3e4f50617", client_ip="127.0.0.1", method="GET", path="/api/v1/me/"
        )

        def run(lines: int) -> float:
            started = time.thread_time()
            for _ in range(lines):
                request_logger.log(logging.INFO, "request", status=200, duration_ms=1.2, route="/api/v1/me/")
            return (time.thread_time() - started) / lines * 1e6

        run(2000)  # warm up
        best = min(run(options.lines) for _ in range(3))
    print(f"one request line: {best:.1f} µs of CPU (best of 3 x {options.lines})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
