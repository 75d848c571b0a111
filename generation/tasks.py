"""Thin tasks: primitive ids in, one service call, safe to deliver twice."""

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from generation import runner
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
    except TransientRenderError as exc:
        if self.request.retries >= self.max_retries:
            runner.generation_fail(generation_id=generation_id, reason="engine_unavailable")
            return
        # Exponential backoff: 10 s, 20 s, 40 s, ... (the job shows "queued", stage "retrying").
        raise self.retry(
            exc=exc, countdown=settings.GENERATION_RETRY_BACKOFF_S * 2**self.request.retries
        ) from exc
    except SoftTimeLimitExceeded:
        runner.generation_fail(generation_id=generation_id, reason="timed_out")


@shared_task(name="generation.fail_stuck", time_limit=120, soft_time_limit=100)
def fail_stuck_generations_task() -> None:
    runner.generations_fail_stuck()
