from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher

from accounts.password_pool import password_hash_run


class _Bounded:
    """Every hash and verify of this hasher runs in ``accounts.password_pool`` (the per-process bound)."""

    def encode(self, password, salt, *args, **kwargs):
        return password_hash_run(super().encode, password, salt, *args, **kwargs)  # type: ignore[misc]

    def verify(self, password, encoded):
        return password_hash_run(super().verify, password, encoded)  # type: ignore[misc]


class OwaspArgon2PasswordHasher(_Bounded, Argon2PasswordHasher):
    """Argon2id at OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane.

    Django's defaults (100 MiB, 8 lanes) cost more memory per login than a
    small app server can spare under load. Same ``argon2`` algorithm name, so
    hashes made with other parameters still verify and are upgraded on login
    (``must_update`` compares the parameters).
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1


class BoundedPBKDF2PasswordHasher(_Bounded, PBKDF2PasswordHasher):
    """Django's PBKDF2 (older hashes, upgraded to Argon2 on login), within the same bound."""


class BoundedPBKDF2SHA1PasswordHasher(_Bounded, PBKDF2SHA1PasswordHasher):
    """Django's PBKDF2-SHA1 (older hashes), within the same bound."""
