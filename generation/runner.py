"""The render job: claim a queued generation, re-check consent, run the engine through `inference`, check the
output, and store it only if every cameo may still be used.

Consent is asked at three points: when the job starts, between denoising steps (so a revocation stops the
render at its next step) and under the row lock that stores the result, so a revocation that commits before
that lock means no output is kept. The same row lock orders the store against a cancel or a take-down.

Idempotent for redelivery: a job already finished is left alone; one left `running` by a dead worker is
rendered again from the start (nothing partial was stored).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from cameos.models import FaceEmbedding
from core.realtime import push_to_user
from generation import inference, output_checks
from generation.models import IN_FLIGHT, Generation, GenerationStatus
from generation.selectors import generation_consent_refusals
from generation.services import delete_media, push_status
from generation.signals import generation_flagged

logger = logging.getLogger(__name__)

PROGRESS_MIN_STEP = 0.02  # store and push progress when it moved at least this much...
PROGRESS_MIN_INTERVAL_S = 0.5  # ...or this long after the last push, whichever comes first
CANCEL_CHECK_INTERVAL_S = 0.25  # the row and the consent are read at most this often while rendering
RENDER_SHARE = 0.9  # progress fraction spent rendering; the output checks and the store take the rest


@dataclass
class _Watch:
    """Progress reporting and the cancel check of one running job."""

    generation: Generation
    last_progress: float = 0.0
    last_push: float = 0.0
    last_stage: str = ""
    last_check: float = 0.0
    stop_reason: str = ""  # "", "gone", "canceled", "consent_revoked"
    timings: dict[str, float] = field(default_factory=dict)
    stage_started: tuple[str, float] | None = None  # the last progress label, and when it first came

    def progress(self, fraction: float, stage: str) -> None:
        fraction = round(min(max(fraction, 0.0), 1.0) * RENDER_SHARE, 4)
        now = time.monotonic()
        if self.stage_started is None or self.stage_started[0] != stage:
            if self.stage_started is not None:
                # seconds from the previous label to this one, kept under this one: ml.generate names each
                # stage as it completes (the engine's own labels are folded into "engine" by the benchmark)
                since = self.stage_started[1]
                self.timings[f"stage_{stage}_s"] = round(
                    self.timings.get(f"stage_{stage}_s", 0.0) + now - since, 3
                )
            self.stage_started = (stage, now)
        if (
            stage == self.last_stage
            and fraction - self.last_progress < PROGRESS_MIN_STEP
            and now - self.last_push < PROGRESS_MIN_INTERVAL_S
        ):
            return
        self._report(fraction, stage, now)

    def _report(self, fraction: float, stage: str, now: float) -> None:
        self.last_progress, self.last_stage, self.last_push = fraction, stage, now
        generation = self.generation
        Generation.objects.filter(pk=generation.pk, status=GenerationStatus.RUNNING).update(
            progress=fraction, stage=stage[:30]
        )
        push_to_user(
            user_id=generation.requester_id,
            event_type="generation.progress",
            data={"generation_id": generation.pk, "status": "running", "progress": fraction, "stage": stage},
        )

    def should_cancel(self) -> bool:
        if self.stop_reason:
            return True
        now = time.monotonic()
        if now - self.last_check < CANCEL_CHECK_INTERVAL_S:
            return False
        self.last_check = now
        status = Generation.objects.filter(pk=self.generation.pk).values_list("status", flat=True).first()
        if status is None:
            self.stop_reason = "gone"
        elif status != GenerationStatus.RUNNING:
            self.stop_reason = "canceled"
        elif generation_consent_refusals(generation=self.generation):
            self.stop_reason = "consent_revoked"
        return bool(self.stop_reason)


def _claim(generation_id: int) -> Generation | None:
    """Move a queued (or orphaned running) job to running, after the consent check at start."""
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if generation is None or generation.status not in IN_FLIGHT or generation.removed_at is not None:
            return None
        if generation_consent_refusals(generation=generation):
            _finish(generation, GenerationStatus.FAILED, reason="consent_revoked")
            return None
        generation.status = GenerationStatus.RUNNING
        generation.started_at = timezone.now()
        generation.attempts += 1
        generation.progress = 0.0
        generation.stage = "starting"
        generation.save(update_fields=["status", "started_at", "attempts", "progress", "stage"])
        push_status(generation)
    return generation


def _finish(generation: Generation, status: str, *, reason: str = "") -> None:
    """Record a final state without output (the caller holds the row lock)."""
    generation.status = status
    generation.failure_reason = reason[:60]
    generation.finished_at = timezone.now()
    generation.save(update_fields=["status", "failure_reason", "finished_at"])
    push_status(generation, "generation.finished")


def _identities(generation: Generation) -> list[inference.CameoIdentity]:
    """Each mentioned cameo as the engine needs it, read from the cameos app's stored data."""
    identities = []
    uses = generation.cameo_uses.select_related("cameo").order_by("pk")
    embeddings = {
        row.cameo_id: bytes(row.vector)
        for row in FaceEmbedding.objects.filter(cameo_id__in=[use.cameo_id for use in uses])
    }
    for use in uses:
        cameo = use.cameo
        if cameo is None or not cameo.reference_image:
            raise inference.RenderRejected(f"@{use.handle}'s cameo has no reference image")
        with default_storage.open(cameo.reference_image.name, "rb") as stored:
            reference = stored.read()
        identities.append(
            inference.CameoIdentity(
                handle=use.handle.lower(),
                cameo_id=cameo.pk,
                reference_png=reference,
                face_embedding=embeddings.get(cameo.pk),
                voice_embedding=bytes(cameo.voice_embedding) if cameo.voice_embedding else None,
            )
        )
    return identities


def generation_run(*, generation_id: int) -> None:
    """Render one job. Raises `inference.TransientRenderError` for the task to retry; every other outcome
    is recorded on the row."""
    generation = _claim(generation_id)
    if generation is None:
        return
    watch = _Watch(generation)
    settings.GENERATION_WORK_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"generation-{generation.pk}-", dir=settings.GENERATION_WORK_DIR))
    try:
        try:
            started = time.monotonic()
            result = inference.render(
                spec=generation.spec,
                identities=_identities(generation),
                out_dir=work,
                progress=watch.progress,
                should_cancel=watch.should_cancel,
            )
            watch.timings["render_s"] = round(time.monotonic() - started, 3)
            watch._report(RENDER_SHARE, "checking", time.monotonic())
            started = time.monotonic()
            facts = inference.inspect_output(result.mp4_path)
            verdict = output_checks.judge(generation=generation, result=result, facts=facts)
            watch.timings["checks_s"] = round(time.monotonic() - started, 3)
        except inference.RenderCanceled:
            _stopped(generation.pk, watch.stop_reason or "canceled")
            return
        except inference.RenderRejected as exc:
            logger.warning("generation %s rejected by the engine: %s", generation.pk, exc)
            _fail(generation.pk, "engine_rejected_input")
            return
        except inference.TransientRenderError:
            _requeue(generation.pk)
            raise
        _store(generation.pk, result=result, facts=facts, verdict=verdict, timings=watch.timings)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _stopped(generation_id: int, reason: str) -> None:
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if generation is None or generation.status != GenerationStatus.RUNNING:
            return  # deleted, or canceled/taken down: that path recorded why
        if reason == "consent_revoked":
            _finish(generation, GenerationStatus.FAILED, reason="consent_revoked")
        else:
            _finish(generation, GenerationStatus.CANCELED, reason=reason)


def _fail(generation_id: int, reason: str) -> None:
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if generation is not None and generation.status in IN_FLIGHT:
            _finish(generation, GenerationStatus.FAILED, reason=reason)


def generation_fail(*, generation_id: int, reason: str) -> None:
    """Give up on a job (retries exhausted, time limit): failed with `reason`, unless it finished already."""
    _fail(generation_id, reason)


def _requeue(generation_id: int) -> None:
    """A transient fault: the job waits in the queue for its retry."""
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if generation is not None and generation.status == GenerationStatus.RUNNING:
            generation.status = GenerationStatus.QUEUED
            generation.stage = "retrying"
            generation.save(update_fields=["status", "stage"])
            push_status(generation)


def _store(
    generation_id: int,
    *,
    result: inference.RenderResult,
    facts: inference.OutputFacts,
    verdict: output_checks.Verdict,
    timings: dict[str, float],
) -> None:
    """Keep the result, under the row lock and only if the job is still running and every cameo may still
    be used: a revocation, a cancel or a take-down that committed first means nothing is kept."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
            if generation is None or generation.status != GenerationStatus.RUNNING:
                return
            if generation_consent_refusals(generation=generation):
                _finish(generation, GenerationStatus.FAILED, reason="consent_revoked")
                return
            folder = f"generations/{generation.requester_id}/{generation.pk}"
            delete_media(generation)  # a redelivered job replaces what an earlier attempt may have left
            with result.mp4_path.open("rb") as video:
                generation.video = default_storage.save(f"{folder}/video.mp4", File(video))
            stored.append(generation.video.name)
            with result.poster_path.open("rb") as poster:
                generation.poster = default_storage.save(f"{folder}/poster.jpg", File(poster))
            stored.append(generation.poster.name)
            generation.engine_metadata = {
                **result.engine_metadata,
                "timings": timings,
                "duration": result.duration,
            }
            generation.provenance = result.manifest
            generation.fingerprint = result.fingerprint
            generation.transcript = facts.transcript
            generation.output_check = verdict.as_dict()
            generation.status = verdict.status
            generation.failure_reason = verdict.reason
            generation.progress = 1.0
            generation.stage = "done"
            generation.finished_at = timezone.now()
            generation.save()
            if verdict.flag is not None:
                generation_flagged.send(sender=Generation, generation=generation, **verdict.flag)
            push_status(generation, "generation.finished")
            _notify_owners(generation)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def _notify_owners(generation: Generation) -> None:
    """Each mentioned cameo's owner hears that a video uses their likeness (their appearances list it)."""
    if generation.status != GenerationStatus.SUCCEEDED:
        return
    owners = {use.owner_id for use in generation.cameo_uses.all()} - {generation.requester_id}
    data: dict[str, Any] = {
        "generation_id": generation.pk,
        "requester": generation.requester.username,
        "prompt": generation.prompt[:200],
    }
    for owner_id in owners:
        transaction.on_commit(
            lambda owner_id=owner_id: push_to_user(
                user_id=owner_id, event_type="appearance.created", data=data
            )
        )


def generations_fail_stuck() -> int:
    """The sweep: fail jobs left running past the time limit (their worker died without handing the task
    back) and jobs queued past the queue timeout. Returns how many."""
    now = timezone.now()
    running_cutoff = now - timedelta(seconds=settings.GENERATION_TIME_LIMIT_S + 60)
    queued_cutoff = now - timedelta(seconds=settings.GENERATION_QUEUE_TIMEOUT_S)
    failed = 0
    candidates = list(
        Generation.objects.filter(status=GenerationStatus.RUNNING, started_at__lt=running_cutoff).values_list(
            "pk", flat=True
        )
    ) + list(
        Generation.objects.filter(status=GenerationStatus.QUEUED, created_at__lt=queued_cutoff).values_list(
            "pk", flat=True
        )
    )
    for generation_id in candidates:
        with transaction.atomic():
            generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
            if generation is None:
                continue
            if generation.status == GenerationStatus.RUNNING and generation.started_at < running_cutoff:
                _finish(generation, GenerationStatus.FAILED, reason="timed_out")
                failed += 1
            elif generation.status == GenerationStatus.QUEUED and generation.created_at < queued_cutoff:
                _finish(generation, GenerationStatus.FAILED, reason="queue_timeout")
                failed += 1
    return failed
