"""Thin tasks: primitive ids in, one service call, safe to deliver twice."""

from celery import shared_task

from cameos import services


@shared_task(
    name="cameos.verify",
    acks_late=True,
    time_limit=300,
    soft_time_limit=270,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def verify_cameo_task(cameo_id: int) -> None:
    services.cameo_verify(cameo_id=cameo_id)


@shared_task(name="cameos.verify_character", acks_late=True, time_limit=120, soft_time_limit=100)
def verify_character_task(cameo_id: int) -> None:
    services.character_verify(cameo_id=cameo_id)


@shared_task(name="cameos.erase", acks_late=True, time_limit=300, soft_time_limit=270, max_retries=5)
def erase_cameo_task(cameo_id: int) -> None:
    services.cameo_erase(cameo_id=cameo_id)


@shared_task(name="cameos.purge_abandoned", time_limit=600, soft_time_limit=540)
def purge_abandoned_task() -> None:
    services.purge_abandoned()


@shared_task(name="cameos.requeue_stuck", time_limit=120, soft_time_limit=100)
def requeue_stuck_task() -> None:
    services.requeue_stuck_verifications()
