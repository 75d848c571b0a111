"""Thin tasks: one service call, safe to deliver twice."""

from celery import shared_task

from moderation import appeals


@shared_task(name="moderation.finalise_unappealed", time_limit=600, soft_time_limit=540)
def finalise_unappealed_task() -> None:
    appeals.decisions_finalise_unappealed()
