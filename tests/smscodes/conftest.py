import pytest

from smscodes.backends import locmem

# The outbox is emptied for every test by tests/conftest.py.


@pytest.fixture
def provider_down(monkeypatch):
    """The locmem "provider" refuses every message while this fixture is active."""
    monkeypatch.setattr(locmem, "fail_with", "isv.BUSINESS_LIMIT_CONTROL")


class RoundTrips:
    """Counts cache round trips: Redis commands sent (a Lua script is one), or outermost cache calls."""

    def __init__(self):
        self.count = 0
        self.commands: list[str] = []

    def reset(self):
        self.count = 0
        self.commands = []


@pytest.fixture
def cache_round_trips(monkeypatch):
    from django.core.cache import caches

    from smscodes.store import is_redis

    trips = RoundTrips()
    backend = caches["default"]
    if is_redis():
        client = backend.client.get_client(write=True)
        original = client.execute_command

        def execute_command(*args, **kwargs):
            trips.count += 1
            trips.commands.append(str(args[0]))
            return original(*args, **kwargs)

        monkeypatch.setattr(client, "execute_command", execute_command)
        original_pipeline = client.pipeline

        def pipeline(*args, **kwargs):  # a pipeline is sent in one round trip when executed
            trips.count += 1
            trips.commands.append("PIPELINE")
            return original_pipeline(*args, **kwargs)

        monkeypatch.setattr(client, "pipeline", pipeline)
        return trips

    depth = {"n": 0}

    def wrap(name):
        original = getattr(backend, name)

        def call(*args, **kwargs):
            # The local-memory cache implements get_many with get: count the outer call only.
            if depth["n"] == 0:
                trips.count += 1
                trips.commands.append(name)
            depth["n"] += 1
            try:
                return original(*args, **kwargs)
            finally:
                depth["n"] -= 1

        return call

    for name in (
        "get",
        "set",
        "add",
        "delete",
        "incr",
        "decr",
        "get_many",
        "set_many",
        "delete_many",
        "touch",
        "has_key",
    ):
        monkeypatch.setattr(backend, name, wrap(name))
    return trips


def cache_dump() -> dict[str, str]:
    """Every entry of this run's cache key space, as text (to look for secrets in it)."""
    import pickle

    from django.core.cache import cache

    from smscodes.store import is_redis

    if is_redis():
        client = cache.client.get_client(write=True)
        prefix = str(cache.client.make_key("*"))
        dump = {}
        for key in client.scan_iter(match=prefix):
            kind = client.type(key).decode()
            value = client.hgetall(key) if kind == "hash" else client.get(key) if kind == "string" else kind
            dump[key.decode()] = repr(value)
        return dump
    return {key: repr(pickle.loads(value)) for key, value in cache._cache.items()}  # noqa: S301 - our own cache
