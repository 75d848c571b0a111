"""Thin tasks: primitive ids in, one service call, safe to deliver twice."""

from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError

from generation import lease, runner
from generation.inference import TransientRenderError


@shared_task(
    bind=True,
    name="generation.render_video",  # routed to the `gpu` queue (generation.render_*)
    acks_late=True,
    time_limit=settings.GENERATION_TIME_LIMIT_S + 30,
    soft_time_limit=settings.GENERATION_TIME_LIMIT_S,
    max_retries=settings.GENERATION_MAX_RETRIES,
)
def render_generation_task(self: Task, generation_id: int) -> None:
    try:
        runner.generation_run(generation_id=generation_id)
    except (TransientRenderError, OperationalError, InterfaceError) as exc:
        # An engine fault, or a lost database connection (the runner handed the job back to the queue on a
        # fresh one). The job shows "queued", stage "retrying".
        if self.request.retries >= self.max_retries:
            reason = "engine_unavailable" if isinstance(exc, TransientRenderError) else "database_unavailable"
            runner.generation_fail(generation_id=generation_id, reason=reason)
            return
        # Exponential backoff: 10 s, 20 s, 40 s, ...
        raise self.retry(
            exc=exc, countdown=settings.GENERATION_RETRY_BACKOFF_S * 2**self.request.retries
        ) from exc
    except SoftTimeLimitExceeded:
        runner.generation_fail(generation_id=generation_id, reason="timed_out")


@shared_task(name="generation.sweep", time_limit=120, soft_time_limit=100)
def sweep_generations_task() -> None:
    runner.generations_sweep()


@worker_ready.connect
@worker_process_init.connect
def _clean_orphaned_scratch(**kwargs: Any) -> None:
    """A worker (or a prefork child replacing a killed one) starts: scratch folders of dead render
    processes on this host are deleted."""
    lease.scratch_clean_orphans()
