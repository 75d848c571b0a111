"""Task helpers shared by every app, and the platform's own small tasks."""

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from kombu.exceptions import KombuError

from core.realtime import push_to_user

logger = logging.getLogger(__name__)

# What sending a message raises when the broker is unreachable (kombu wraps connection errors in its
# OperationalError after the publish retry policy, sora_social/settings/celery.py, gave up).
BROKER_ERRORS = (KombuError, OSError)


def task_send(task: Task, *args: Any, **kwargs: Any) -> bool:
    """Send `task` now. Returns False, logged, when the broker cannot take it: the caller's state is already
    committed, and a sweep that knows what was not sent sends it later (for renders, `Generation.dispatched_at`)."""
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except BROKER_ERRORS:
        logger.warning("task %s%r not sent: the broker is unreachable", task.name, args, exc_info=True)
        return False
    return True


def enqueue_on_commit(
    task: Task, *args: Any, on_sent: Callable[[], None] | None = None, **kwargs: Any
) -> None:
    """Send `task` only once the surrounding transaction commits, so a worker never looks for a row that
    is not there yet, and a rolled-back request enqueues nothing. Outside a transaction it sends at once.
    A broker that is down never fails the request (its transaction has committed): the send is logged and
    `on_sent` is not called; `on_sent` runs once the broker took the message (to mark an outbox row)."""

    def send() -> None:
        if task_send(task, *args, **kwargs) and on_sent is not None:
            on_sent()

    transaction.on_commit(send)


@shared_task(name="core.realtime_ping", ignore_result=True, time_limit=30, soft_time_limit=20)
def realtime_ping_task(user_id: int, nonce: str) -> None:
    """Round trip for a client to prove its socket is live: API → broker → worker → channel layer → socket."""
    push_to_user(user_id=user_id, event_type="realtime.pong", data={"nonce": nonce})
