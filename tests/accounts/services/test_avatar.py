"""accounts.services.avatar: the upload throttle lives in avatar_set, whichever door calls it."""

import pytest

from accounts.services import avatar_set
from config.errors import RateLimited
from tests.accounts.avatar_images import image_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_uploads_past_the_budget_are_refused_before_any_image_work(user, settings, frozen_clock, tmp_path):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "avatar_upload": "2/m"},
    }
    for _ in range(2):
        avatar_set(user=user, file=upload(image_bytes("PNG")))
    stored = sorted(tmp_path.rglob("*.webp"))
    with pytest.raises(RateLimited) as limited:
        avatar_set(user=user, file=upload(b"not even an image"))  # refused before it is looked at
    assert limited.value.retry_after == 55
    assert sorted(tmp_path.rglob("*.webp")) == stored
