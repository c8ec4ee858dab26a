"""Avatars: the only writers of ``User.avatar`` / ``User.avatar_thumbnail``.

The API, the ``/account/`` page and the admin call ``avatar_set`` and
``avatar_remove``. The image work is ``accounts.avatar_pipeline``'s; this
module stores its output under a random name, points the user row at it, and
deletes the files no row points at any more.
"""

import logging
import uuid
from collections.abc import Iterable
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction

from accounts.avatar_pipeline import OUTPUT_EXTENSION, ProcessedAvatar, avatar_process
from accounts.models import User
from config.errors import RateLimited
from config.ratelimit import ratelimit_hit, throttle_rate

logger = logging.getLogger("accounts.avatars")

UPLOAD_DIR = "avatars"
# The throttle scope of uploads (THROTTLE_AVATAR_UPLOAD): each costs ~0.15 s of CPU.
UPLOAD_THROTTLE_SCOPE = "avatar_upload"


def _upload_throttle(user: User) -> None:
    """Count one upload of ``user`` (every door shares the budget); RateLimited past it."""
    rate = throttle_rate(UPLOAD_THROTTLE_SCOPE)
    if rate is None:
        return
    result = ratelimit_hit(scope=f"throttle:{UPLOAD_THROTTLE_SCOPE}", key=f"user:{user.pk}", rate=rate)
    if not result.allowed:
        raise RateLimited(retry_after=result.retry_after)


def _storage() -> Storage:
    return User._meta.get_field("avatar").storage


def _store(processed: ProcessedAvatar) -> tuple[str, str]:
    """Save both files under one random name; returns their storage names."""
    storage = _storage()
    key = uuid.uuid4().hex
    picture = storage.save(f"{UPLOAD_DIR}/{key}.{OUTPUT_EXTENSION}", ContentFile(processed.picture))
    try:
        thumbnail = storage.save(f"{UPLOAD_DIR}/{key}.thumb.{OUTPUT_EXTENSION}", ContentFile(processed.thumbnail))
    except Exception:
        avatar_files_delete([picture])
        raise
    return picture, thumbnail


def avatar_files_delete(names: Iterable[str | None]) -> None:
    """Delete stored avatar files by name; a failure is logged, never raised (it runs after commits)."""
    storage = _storage()
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except Exception:  # a file left behind is better than a failed request after commit
            logger.exception("Could not delete avatar file %s", name)


def _lock_user(pk: int) -> User:
    # The row lock serialises concurrent avatar changes of one user: each
    # sees the names the previous one committed, and deletes exactly those.
    return User.objects.select_for_update().only("pk", "avatar", "avatar_thumbnail").get(pk=pk)


def _replace(*, user: User, picture: str, thumbnail: str) -> None:
    """Point the row at the new names; the old files go once that is committed."""
    with transaction.atomic():
        locked = _lock_user(user.pk)
        old = [locked.avatar.name, locked.avatar_thumbnail.name]
        if old == [picture, thumbnail]:  # removing an avatar that is not there
            return
        locked.avatar.name = picture
        locked.avatar_thumbnail.name = thumbnail
        locked.save(update_fields=["avatar", "avatar_thumbnail"])
        transaction.on_commit(lambda: avatar_files_delete(old), robust=True)
    user.avatar.name = picture
    user.avatar_thumbnail.name = thumbnail


def avatar_set(*, user: User, file: IO[bytes]) -> User:
    """Validate ``file``, store it re-encoded as ``user``'s avatar and return ``user``.

    ``file`` is any binary file object (an ``UploadedFile`` from a request).
    Raises what ``avatar_process`` raises; nothing is stored then. The image
    work runs before the transaction, so the row lock is held only for the
    update. The previous files are deleted after the commit; new files are
    deleted again if the update fails. Call it outside an enclosing
    transaction: Django has no hook for an outer rollback, which would leave
    the new files unreferenced.

    Uploads count towards ``THROTTLE_AVATAR_UPLOAD`` per user, whichever door
    they come through (RateLimited), before any image work.
    """
    _upload_throttle(user)
    processed = avatar_process(file)
    picture, thumbnail = _store(processed)
    try:
        _replace(user=user, picture=picture, thumbnail=thumbnail)
    except BaseException:
        avatar_files_delete([picture, thumbnail])
        raise
    return user


def avatar_remove(*, user: User) -> User:
    """Clear ``user``'s avatar; the files are deleted after the commit. Idempotent."""
    _replace(user=user, picture="", thumbnail="")
    return user
