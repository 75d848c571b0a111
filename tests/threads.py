"""Helpers for tests that race real threads, each with its own database connection, against PostgreSQL."""

import threading
from collections.abc import Callable, Sequence

from django.db import connections


def run_together(calls: Sequence[Callable[[], object]], *, timeout_s: float = 60) -> list[BaseException]:
    """Run each of `calls` in a thread of its own, all released at once by a barrier (so they contend), and
    wait for them; what they raised, which a thread would otherwise lose. Each thread closes its database
    connections when done."""
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=10)
            call()
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
    assert not any(thread.is_alive() for thread in threads), f"a thread ran past {timeout_s} s"
    return errors
