"""The accounts app's settings, read at call time (tests override them) through one accessor each.

Every value comes from ``config/settings.py``, which reads it from the
environment with its default (listed with its meaning in ``.env.example``);
nothing else in the app reads these settings directly.
"""

from django.conf import settings

from config.ratelimit import Rate, rate_parse


def phone_required() -> bool:
    """``ACCOUNTS_PHONE_REQUIRED``: sign-up needs a verified phone (off: username + password will do)."""
    return bool(settings.ACCOUNTS_PHONE_REQUIRED)


def lockout_rate() -> Rate:
    """Failed logins allowed per account and the lockout that follows, as a rate.

    ``ACCOUNTS_LOCKOUT_RATE`` (``"5/15m"``: 5 failures within 15 minutes lock the
    account for 15 minutes), or the older pair ``ACCOUNTS_LOGIN_MAX_FAILURES`` /
    ``ACCOUNTS_LOCKOUT_SECONDS`` (default 5 and 900), which keeps working.
    """
    if settings.ACCOUNTS_LOCKOUT_RATE:
        return rate_parse(settings.ACCOUNTS_LOCKOUT_RATE)
    return Rate(
        limit=max(1, int(settings.ACCOUNTS_LOGIN_MAX_FAILURES)), period=max(1, int(settings.ACCOUNTS_LOCKOUT_SECONDS))
    )


def login_ip_rate() -> Rate:
    """``ACCOUNTS_LOGIN_IP_RATE``: password checks per client IP (default ``30/m``)."""
    return rate_parse(settings.ACCOUNTS_LOGIN_IP_RATE)


def recent_login_seconds() -> int:
    """``ACCOUNTS_RECENT_LOGIN_SECONDS``: how recent a login must be for a phone change without the password."""
    return max(0, int(settings.ACCOUNTS_RECENT_LOGIN_SECONDS))


def password_require_letter_and_digit() -> bool:
    return bool(settings.ACCOUNTS_PASSWORD_REQUIRE_LETTER_AND_DIGIT)


def avatar_max_bytes() -> int:
    """``AVATAR_MAX_BYTES``: the largest avatar upload accepted."""
    return int(settings.AVATAR_MAX_BYTES)


def avatar_max_pixels() -> int:
    """``AVATAR_MAX_PIXELS``: width × height above which an image is refused from its header."""
    return int(settings.AVATAR_MAX_PIXELS)


def deletion_grace_days() -> int:
    """``ACCOUNTS_DELETION_GRACE_DAYS``: days between asking for deletion and the purge (0: the next purge)."""
    return max(0, int(settings.ACCOUNTS_DELETION_GRACE_DAYS))


def consent_required() -> bool:
    """``ACCOUNTS_CONSENT_REQUIRED``: sign-up needs the current legal documents agreed to (off: optional)."""
    return bool(settings.ACCOUNTS_CONSENT_REQUIRED)


def code_login_signs_up() -> bool:
    """``ACCOUNTS_CODE_LOGIN_SIGNS_UP``: a login code goes to any number and signing in with it creates the account."""
    return bool(settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP)


def password_hash_concurrency() -> int:
    """``ACCOUNTS_PASSWORD_HASH_CONCURRENCY``: password hashes computed at once per process (default 1)."""
    return max(1, int(settings.ACCOUNTS_PASSWORD_HASH_CONCURRENCY))


def password_hash_queue() -> int:
    """``ACCOUNTS_PASSWORD_HASH_QUEUE``: password hashes that may wait for one per process; more get 429 (default 2)."""
    return max(0, int(settings.ACCOUNTS_PASSWORD_HASH_QUEUE))


def password_hash_nice() -> int:
    """``ACCOUNTS_PASSWORD_HASH_NICE``: the hashing threads' CPU niceness, 0..19 (default 10)."""
    return min(19, max(0, int(settings.ACCOUNTS_PASSWORD_HASH_NICE)))
