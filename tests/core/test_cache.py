"""The cache backend (core/cache.py): Django's Redis cache, one Redis client per connection pool."""

import threading

from django.core.cache import cache, caches

from core.cache import SharedClientRedisCache


def test_the_cache_is_the_shared_client_backend_and_works():
    assert isinstance(caches["default"], SharedClientRedisCache)
    cache.set("core-cache-test", {"a": (1, 2)}, timeout=30)
    assert cache.get("core-cache-test") == {"a": (1, 2)}
    assert cache.add("core-cache-test", "other", timeout=30) is False
    assert cache.get_many(["core-cache-test", "core-cache-missing"]) == {"core-cache-test": {"a": (1, 2)}}
    cache.delete("core-cache-test")
    assert cache.get("core-cache-test") is None


def test_one_client_serves_every_call_and_every_thread():
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    results: list[object] = []

    def use() -> None:
        for n in range(50):
            cache.set(f"core-cache-thread-{threading.get_ident()}-{n}", n, timeout=30)
            results.append(cache.get(f"core-cache-thread-{threading.get_ident()}-{n}") == n)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 200
    assert cache._cache.get_client() is client
