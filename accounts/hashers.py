from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane.

    Django's defaults (100 MiB, 8 lanes) cost more memory per login than a
    small app server can spare under load. Same ``argon2`` algorithm name, so
    hashes made with other parameters still verify and are upgraded on login
    (``must_update`` compares the parameters).
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
