"""CPU cost of an avatar upload: a 4000×3000 JPEG through PUT /api/v1/me/avatar/.

    .venv/bin/python bench/avatar_upload.py [--runs 25]

Runs in one process against a throwaway SQLite database and media folder.
Reports CPU time (``time.process_time``: this process only, so it does not
count time waiting for the disk) as the median of N runs for:

- ``decode``: a plain Pillow ``Image.open(...).load()`` of the same file
  (the reference: what merely looking at the upload costs);
- ``pipeline``: ``avatar_process`` (checks, decode, orient, resize, encode x2);
- ``request``: the whole request through the Django test client — multipart
  parsing with the size-limiting handler, JWT auth, pipeline, storage, the
  locked row update, the JSON response;
- ``bomb``: refusing a 20000×20000 PNG (header read only).
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 40)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")  # the test client speaks plain HTTP
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
os.environ["DATABASE_URL"] = "sqlite:///:memory:"
os.environ.pop("REDIS_URL", None)
# The bench measures the cost of an upload, not the per-user upload throttle (10/m).
os.environ["THROTTLE_AVATAR_UPLOAD"] = "1000000/m"
warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise without collectstatic
MEDIA = tempfile.mkdtemp(prefix="avatar-bench-")
os.environ["MEDIA_ROOT"] = MEDIA


def photo_like_jpeg(width=4000, height=3000) -> bytes:
    """A camera-sized JPEG with gradients and noise (harder to decode than a flat colour)."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 20)
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def cpu(fn, runs: int) -> list[float]:
    fn()  # warm-up
    timings = []
    for _ in range(runs):
        started = time.process_time()
        fn()
        timings.append(time.process_time() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=25)
    runs = parser.parse_args().runs

    import django

    django.setup()
    from django.core.management import call_command
    from PIL import Image
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.avatar_pipeline import avatar_process
    from accounts.models import User
    from config.errors import InvalidInput
    from tests.accounts.avatar_images import png_bomb

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(phone="+8613800000099")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    jpeg = photo_like_jpeg()
    bomb = png_bomb(20_000, 20_000)
    print(f"JPEG 4000x3000: {len(jpeg) / 1e6:.2f} MB; bomb PNG 20000x20000: {len(bomb) / 1e6:.2f} MB; runs: {runs}")

    def decode():
        Image.open(io.BytesIO(jpeg)).load()

    def pipeline():
        avatar_process(io.BytesIO(jpeg))

    def request():
        file = io.BytesIO(jpeg)
        file.name = "photo.jpg"
        response = client.put("/api/v1/me/avatar/", {"avatar": file}, format="multipart")
        assert response.status_code == 200, response.content

    def refuse_bomb():
        try:
            avatar_process(io.BytesIO(bomb))
        except InvalidInput:
            return
        raise AssertionError("the bomb was accepted")

    load = os.getloadavg()
    results = {
        "decode": cpu(decode, runs),
        "pipeline": cpu(pipeline, runs),
        "request": cpu(request, runs),
        "bomb": cpu(refuse_bomb, runs),
    }
    # CPU time is per process, but a busy machine still slows it (shared caches, frequency).
    print(
        "load average (1, 5, 15 min) before: {:.1f} {:.1f} {:.1f}; after: {:.1f} {:.1f} {:.1f}".format(
            *load, *os.getloadavg()
        )
    )
    reference = statistics.median(results["decode"])
    print(f"{'step':<10}{'median ms':>12}{'min ms':>10}{'max ms':>10}{'x decode':>10}")
    for name, timings in results.items():
        median = statistics.median(timings)
        print(
            f"{name:<10}{median * 1000:>12.2f}{min(timings) * 1000:>10.2f}{max(timings) * 1000:>10.2f}"
            f"{median / reference:>10.2f}"
        )


if __name__ == "__main__":
    main()
