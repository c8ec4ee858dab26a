"""A 20000×20000 PNG (1.2 GB of pixels in a 1 MB file) is refused quickly and in bounded memory.

Peak memory is only meaningful per process, so the refusal runs in a fresh
Python process that reports its own ``ru_maxrss`` before and after.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import PngImagePlugin

from tests.accounts.avatar_images import png_bomb

ROOT = Path(__file__).resolve().parents[2]
WIDTH = HEIGHT = 20_000
DECODED_BYTES = WIDTH * HEIGHT * 3

SCRIPT = r"""
import io, json, resource, sys, time
import django

django.setup()
from accounts.avatar_pipeline import avatar_process
from config.errors import InvalidInput
from PIL import Image

warm = io.BytesIO()
Image.new("RGB", (100, 100)).save(warm, "PNG")
avatar_process(io.BytesIO(warm.getvalue()))  # plugins imported, caches warm
data = open(sys.argv[1], "rb").read()

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
started = time.process_time()
try:
    avatar_process(io.BytesIO(data))
    outcome = "accepted"
except InvalidInput as exc:
    outcome = "refused: " + str(exc.message)
cpu = time.process_time() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"outcome": outcome, "cpu": cpu, "peak_before": before, "peak_after": after}))
"""


def test_a_20000_by_20000_png_is_refused_quickly_with_bounded_memory(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(WIDTH, HEIGHT))
    assert bomb.stat().st_size < 2 * 1024 * 1024  # small enough to pass the byte limit
    header = PngImagePlugin.PngImageFile(io.BytesIO(bomb.read_bytes()))  # header only, no bomb check
    assert (header.format, header.size, header.mode) == ("PNG", (WIDTH, HEIGHT), "RGB")

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": "bomb-test-only",
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bomb)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["outcome"].startswith("refused"), report
    # A header read, not a decode: decoding 1.2 GB of pixels costs seconds of CPU.
    # (CPU time, not wall time, so a loaded machine does not move it much.)
    assert report["cpu"] < 0.5, report
    # The whole process (interpreter, Django and its libraries, the 1 MB
    # file: 100-250 MB) stays far below the 1.2 GB a decode alone would
    # need, and refusing adds next to nothing to the peak (the real check).
    assert report["peak_after"] < DECODED_BYTES / 2, report
    assert report["peak_after"] - report["peak_before"] < 16 * 1024 * 1024, report
