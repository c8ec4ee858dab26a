from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher

from accounts.password_pool import password_hash_run


class _Bounded:
    """Every hash and verify of this hasher runs in ``accounts.password_pool`` (the per-process bound)."""

    def encode(self, password, salt, *args, **kwargs):
        return password_hash_run(super().encode, password, salt, *args, **kwargs)  # type: ignore[misc]

    def verify(self, password, encoded):
        return password_hash_run(super().verify, password, encoded)  # type: ignore[misc]


class OwaspArgon2PasswordHasher(_Bounded, Argon2PasswordHasher):
    """Argon2id in one of OWASP's equivalent minimum settings: 7 MiB, 5 passes, 1 lane.

    OWASP's Password Storage Cheat Sheet lists m=19 MiB/t=2, m=12 MiB/t=3,
    m=9 MiB/t=4 and m=7 MiB/t=5 (p=1) as giving an equal level of defence.
    The smallest memory is chosen by measurement on the 2-CPU server
    (bench/README.md, "Argon2 memory"): two 19 MiB hashes at once overflow the
    shared 32 MiB CPU cache, so each runs 14 % slower than alone and every
    other request on the machine (``GET /api/v1/me/`` during a login storm)
    loses its cached data; two 7 MiB hashes cost 4 % and leave the cache to
    the rest, for the same CPU per hash. Django's defaults (100 MiB, 8 lanes)
    cost far more memory per login than an app server can spare under load.
    Same ``argon2`` algorithm name, so hashes made with other parameters
    still verify and are upgraded on the next login (``must_update``
    compares the parameters).
    """

    time_cost = 5
    memory_cost = 7 * 1024  # KiB
    parallelism = 1


class BoundedPBKDF2PasswordHasher(_Bounded, PBKDF2PasswordHasher):
    """Django's PBKDF2 (older hashes, upgraded to Argon2 on login), within the same bound."""


class BoundedPBKDF2SHA1PasswordHasher(_Bounded, PBKDF2SHA1PasswordHasher):
    """Django's PBKDF2-SHA1 (older hashes), within the same bound."""
