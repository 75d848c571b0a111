"""Task helpers shared by every app, and the platform's own small tasks."""

from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.db import transaction

from core.realtime import push_to_user


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Send `task` only once the surrounding transaction commits, so a worker never looks for a row that
    is not there yet, and a rolled-back request enqueues nothing. Outside a transaction it sends at once."""
    send: Callable[[], Any] = lambda: task.apply_async(args=args, kwargs=kwargs)  # noqa: E731
    transaction.on_commit(send)


@shared_task(name="core.realtime_ping", ignore_result=True, time_limit=30, soft_time_limit=20)
def realtime_ping_task(user_id: int, nonce: str) -> None:
    """Round trip for a client to prove its socket is live: API → broker → worker → channel layer → socket."""
    push_to_user(user_id=user_id, event_type="realtime.pong", data={"nonce": nonce})
