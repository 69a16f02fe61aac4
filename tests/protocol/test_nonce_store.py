"""The in-memory nonce store: each nonce claimed once, kept until its expiry instant."""

from __future__ import annotations

import threading
from datetime import timedelta

from protocol import (
    DEFAULT_FRESHNESS_WINDOW,
    MemoryNonceStore,
)
from tests.protocol.factories import (
    START,
    clock,
)

WINDOW = DEFAULT_FRESHNESS_WINDOW


def test_memory_nonce_store_claims_each_nonce_once() -> None:
    store = MemoryNonceStore()
    expires = START + WINDOW
    assert store.claim("n" * 22, expires) is True
    assert store.claim("n" * 22, expires) is False


def test_memory_nonce_store_without_a_clock_forgets_only_when_pruned() -> None:
    store = MemoryNonceStore()
    store.claim("a" * 22, START)
    store.claim("b" * 22, START + WINDOW)
    assert len(store) == 2
    assert store.prune(START + timedelta(seconds=1)) == 1
    assert store.claim("a" * 22, START + WINDOW) is True
    assert store.claim("b" * 22, START + WINDOW) is False


def test_memory_nonce_store_keeps_a_nonce_until_its_expiry_instant() -> None:
    store_clock = clock()
    store = MemoryNonceStore(store_clock)
    store.claim("a" * 22, START + WINDOW)
    store_clock.set(START + WINDOW)
    assert store.claim("a" * 22, START + WINDOW * 2) is False
    store_clock.advance(timedelta(microseconds=1))
    assert store.claim("a" * 22, START + WINDOW * 2) is True


def test_memory_nonce_store_grants_a_contested_nonce_to_exactly_one_thread() -> None:
    store = MemoryNonceStore()
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def claim() -> None:
        barrier.wait()
        results.append(store.claim("contested-nonce-01", START))

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]
