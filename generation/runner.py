"""The render job: claim a queued generation, re-check consent, run the engine through `inference`, check the
output, and store it only if every cameo may still be used.

Consent is asked at three points: when the job starts, between denoising steps (so a revocation stops the
render at its next step) and under the row lock that stores the result, so a revocation that commits before
that lock means no output is kept. The same row lock orders the store against a cancel or a take-down.

Idempotent for redelivery, and never run twice at once: the claim takes a lease on the row (`worker_id`,
new for every claim, and `heartbeat_at`, refreshed by a heartbeat thread and between steps while it runs). A message
delivered while another worker holds a live lease does nothing; a job already finished is left alone; one whose
holder died (its heartbeat stopped, or its process is gone from this host) is rendered again from the start,
at most GENERATION_MAX_ATTEMPTS times (nothing partial was stored). Every write of the job checks that the
lease is still its own. The sweep (`generations_sweep`, on beat) re-queues jobs whose heartbeat stopped and
sends the render messages the broker did not take (the outbox, `dispatched_at`). docs/ARCHITECTURE.md,
"Faults", tells the whole story.

Side effects never undo what committed: socket pushes are best-effort (core.realtime) and run after commit;
the result is uploaded before the row lock is taken, and deleted only when the row does not reference it.
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
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cameos.models import FaceEmbedding
from core.realtime import push_to_user
from generation import inference, lease, output_checks
from generation.models import IN_FLIGHT, Generation, GenerationStatus
from generation.selectors import generation_consent_refusals
from generation.services import generation_dispatch, push_status
from generation.signals import generation_flagged, generation_succeeded

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
    last_beat: float = field(default_factory=time.monotonic)
    stop_reason: str = ""  # "", "gone", "canceled", "consent_revoked", "lease_lost"
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
        self.last_progress, self.last_stage, self.last_push, self.last_beat = fraction, stage, now, now
        generation = self.generation
        lease.with_reconnect(
            lambda: Generation.objects.filter(
                pk=generation.pk, status=GenerationStatus.RUNNING, worker_id=generation.worker_id
            ).update(progress=fraction, stage=stage[:30], heartbeat_at=timezone.now())
        )
        push_to_user(
            user_id=generation.requester_id,
            event_type="generation.progress",
            data={"generation_id": generation.pk, "status": "running", "progress": fraction, "stage": stage},
        )

    def beat(self) -> None:
        """Prove the holder alive between steps (besides the heartbeat thread), and notice a lost lease."""
        self.last_beat = time.monotonic()
        held = lease.with_reconnect(
            lambda: Generation.objects.filter(
                pk=self.generation.pk, status=GenerationStatus.RUNNING, worker_id=self.generation.worker_id
            ).update(heartbeat_at=timezone.now())
        )
        if not held and not self.stop_reason:
            self.stop_reason = "lease_lost"

    def should_cancel(self) -> bool:
        if self.stop_reason:
            return True
        now = time.monotonic()
        if now - self.last_check < CANCEL_CHECK_INTERVAL_S:
            return False
        self.last_check = now
        row = lease.with_reconnect(
            lambda: (
                Generation.objects.filter(pk=self.generation.pk).values_list("status", "worker_id").first()
            )
        )
        if row is None:
            self.stop_reason = "gone"
        elif row[0] != GenerationStatus.RUNNING:
            self.stop_reason = "canceled"
        elif row[1] != self.generation.worker_id:
            self.stop_reason = "lease_lost"
        elif now - self.last_beat >= settings.GENERATION_HEARTBEAT_S:
            self.beat()
        elif generation_consent_refusals(generation=self.generation):
            self.stop_reason = "consent_revoked"
        return bool(self.stop_reason)


def _claim(generation_id: int) -> Generation | None:
    """Take the lease of a queued job (or of a running one whose holder died), after the consent check at
    start. None: nothing to do here (finished, gone, taken down, or held by a live worker)."""
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if generation is None or generation.status not in IN_FLIGHT or generation.removed_at is not None:
            return None
        if generation.status == GenerationStatus.RUNNING:
            if not lease.lease_expired(generation):
                logger.info(
                    "generation %s is held by %s: this delivery does nothing",
                    generation.pk,
                    generation.worker_id,
                )
                return None
            if generation.attempts >= settings.GENERATION_MAX_ATTEMPTS:
                _finish(generation, GenerationStatus.FAILED, reason="worker_lost")
                return None
        if generation_consent_refusals(generation=generation):
            _finish(generation, GenerationStatus.FAILED, reason="consent_revoked")
            return None
        generation.status = GenerationStatus.RUNNING
        generation.started_at = generation.heartbeat_at = timezone.now()
        generation.worker_id = lease.worker_identity()
        generation.attempts += 1
        generation.progress = 0.0
        generation.stage = "starting"
        generation.save(
            update_fields=[
                "status",
                "started_at",
                "heartbeat_at",
                "worker_id",
                "attempts",
                "progress",
                "stage",
            ]
        )
        push_status(generation)
    return generation


def _finish(generation: Generation, status: str, *, reason: str = "") -> None:
    """Record a final state without output (the caller holds the row lock)."""
    generation.status = status
    generation.failure_reason = reason[:60]
    generation.finished_at = timezone.now()
    generation.save(update_fields=["status", "failure_reason", "finished_at"])
    push_status(generation, "generation.finished")


def _identities(generation: Generation, work: Path) -> list[inference.CameoIdentity]:
    """Each mentioned cameo as the engine needs it, read from the cameos app's stored data; a person's
    verified recording is copied into the job's scratch folder `work`, where the engine cuts them out of it."""
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
        recording_path = None
        if cameo.recording:
            recording_path = work / f"cameo-{cameo.pk}{Path(cameo.recording.name).suffix}"
            with default_storage.open(cameo.recording.name, "rb") as stored, recording_path.open("wb") as copy:
                shutil.copyfileobj(stored, copy)
        identities.append(
            inference.CameoIdentity(
                handle=use.handle.lower(),
                cameo_id=cameo.pk,
                reference_png=reference,
                face_embedding=embeddings.get(cameo.pk),
                voice_embedding=bytes(cameo.voice_embedding) if cameo.voice_embedding else None,
                guidance=cameo.guidance,
                recording_path=recording_path,
            )
        )
    return identities


def generation_run(*, generation_id: int) -> None:
    """Render one job. Raises `inference.TransientRenderError` and database connection errors for the task to
    retry (the job is back in the queue); every other outcome is recorded on the row."""
    generation = _claim(generation_id)
    if generation is None:
        return
    settings.GENERATION_WORK_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(
        tempfile.mkdtemp(prefix=lease.scratch_prefix(generation.pk), dir=settings.GENERATION_WORK_DIR)
    )
    try:
        with lease.Heartbeat(generation):
            _render_and_store(generation, _Watch(generation), work)
    except lease.DB_ERRORS:
        _requeue_after_db_error(generation.pk, generation.worker_id)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _render_and_store(generation: Generation, watch: _Watch, work: Path) -> None:
    try:
        started = time.monotonic()
        result = inference.render(
            spec=generation.spec,
            identities=_identities(generation, work),
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
        watch.beat()
    except inference.RenderCanceled:
        _stopped(generation, watch.stop_reason or "canceled")
        return
    except inference.RenderRejected as exc:
        logger.warning("generation %s rejected by the engine: %s", generation.pk, exc)
        _fail(generation.pk, "engine_rejected_input")
        return
    except inference.TransientRenderError:
        _requeue(generation.pk, generation.worker_id)
        raise
    _store(generation, result=result, facts=facts, verdict=verdict, timings=watch.timings)


def _stopped(generation: Generation, reason: str) -> None:
    with transaction.atomic():
        row = Generation.objects.select_for_update().filter(pk=generation.pk).first()
        if row is None or row.status != GenerationStatus.RUNNING or row.worker_id != generation.worker_id:
            return  # deleted, canceled/taken down (that path recorded why), or another worker holds it now
        if reason == "consent_revoked":
            _finish(row, GenerationStatus.FAILED, reason="consent_revoked")
        else:
            _finish(row, GenerationStatus.CANCELED, reason=reason)


def _fail(generation_id: int, reason: str) -> None:
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if generation is not None and generation.status in IN_FLIGHT:
            _finish(generation, GenerationStatus.FAILED, reason=reason)


def generation_fail(*, generation_id: int, reason: str) -> None:
    """Give up on a job (retries exhausted, time limit): failed with `reason`, unless it finished already."""
    _fail(generation_id, reason)


def _requeue(generation_id: int, worker_id: str) -> None:
    """A transient fault: the job gives up its lease and waits in the queue for its retry."""
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if (
            generation is not None
            and generation.status == GenerationStatus.RUNNING
            and generation.worker_id == worker_id
        ):
            _release(generation, stage="retrying")


def _release(generation: Generation, *, stage: str, resend: bool = False) -> None:
    """Back to the queue without a holder (the caller holds the row lock). `resend`: the job needs a new
    message (its old one was consumed by the dead worker), so the outbox marks it unsent until one is taken."""
    generation.status = GenerationStatus.QUEUED
    generation.stage = stage
    generation.worker_id = ""
    generation.heartbeat_at = None
    fields = ["status", "stage", "worker_id", "heartbeat_at"]
    if resend:
        generation.dispatched_at = None
        fields.append("dispatched_at")
    generation.save(update_fields=fields)
    push_status(generation)


def _requeue_after_db_error(generation_id: int, worker_id: str) -> None:
    """The database connection dropped mid-job: hand the job back on a fresh connection, trying for a few
    seconds. If the database stays away, the row keeps a lease whose heartbeat stops, and the sweep re-queues
    it; the retry in this process may also take it over at once (`lease.holder_is_gone`)."""
    for delay in (0.0, 0.5, 1.0, 2.0):
        time.sleep(delay)
        connection.close()
        try:
            _requeue(generation_id, worker_id)
            return
        except lease.DB_ERRORS:
            logger.warning("generation %s not re-queued yet: the database is unreachable", generation_id)
    connection.close()


def _store(
    generation: Generation,
    *,
    result: inference.RenderResult,
    facts: inference.OutputFacts,
    verdict: output_checks.Verdict,
    timings: dict[str, float],
) -> None:
    """Keep the result. The files are uploaded first, without any lock (a slow storage never holds the row);
    then, under the row lock, the row takes them only if this worker still holds the job and every cameo may
    still be used: a revocation, a cancel or a take-down that committed first means nothing is kept. Uploaded
    files are deleted only when the row does not reference them, so nothing that committed is ever undone."""
    folder = f"generations/{generation.requester_id}/{generation.pk}"
    with result.mp4_path.open("rb") as video:
        video_name = default_storage.save(f"{folder}/video.mp4", File(video))
    with result.poster_path.open("rb") as poster:
        poster_name = default_storage.save(f"{folder}/poster.jpg", File(poster))
    uploaded = (video_name, poster_name)
    try:
        kept = _store_under_lock(
            generation.pk, generation.worker_id, uploaded, result=result, facts=facts, verdict=verdict,
            timings=timings,
        )  # fmt: skip
    except BaseException:
        if not _row_references(generation.pk, video_name):
            _delete_files(uploaded)
        raise
    if not kept:
        _delete_files(uploaded)


def _store_under_lock(
    generation_id: int,
    worker_id: str,
    uploaded: tuple[str, str],
    *,
    result: inference.RenderResult,
    facts: inference.OutputFacts,
    verdict: output_checks.Verdict,
    timings: dict[str, float],
) -> bool:
    """Returns whether the row took the uploaded files."""
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
        if (
            generation is None
            or generation.status != GenerationStatus.RUNNING
            or generation.worker_id != worker_id
        ):
            return False
        if generation_consent_refusals(generation=generation):
            _finish(generation, GenerationStatus.FAILED, reason="consent_revoked")
            return False
        generation.video, generation.poster = uploaded
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
        generation.worker_id = ""
        generation.heartbeat_at = None
        generation.save()
        if verdict.flag is not None:
            generation_flagged.send(sender=Generation, generation=generation, **verdict.flag)
        # What an earlier attempt killed between its upload and its commit left behind.
        folder = uploaded[0].rpartition("/")[0]
        transaction.on_commit(lambda: _delete_unreferenced(folder, keep=uploaded), robust=True)
        push_status(generation, "generation.finished")
        _notify_owners(generation)
        if generation.status == GenerationStatus.SUCCEEDED:
            generation_succeeded.send(sender=Generation, generation=generation)
    return True


def _row_references(generation_id: int, video_name: str) -> bool:
    """Whether the stored row points at this upload (its transaction committed). When the database cannot
    say, the files are kept: an orphan is cleaned by the next attempt, a deleted committed video is lost."""
    try:
        return lease.with_reconnect(
            lambda: Generation.objects.filter(pk=generation_id, video=video_name).exists()
        )
    except DatabaseError:
        logger.warning("generation %s: kept %s, the database cannot say whether it is stored", generation_id,
                       video_name, exc_info=True)  # fmt: skip
        return True


def _delete_files(names: tuple[str, ...]) -> None:
    for name in names:
        default_storage.delete(name)


def _delete_unreferenced(folder: str, *, keep: tuple[str, str]) -> None:
    if not default_storage.exists(folder):
        return
    for name in default_storage.listdir(folder)[1]:
        path = f"{folder}/{name}"
        if path not in keep:
            default_storage.delete(path)


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


def generations_sweep() -> dict[str, int]:
    """The sweep, on beat every GENERATION_SWEEP_INTERVAL_S. Returns how many jobs each rule touched:

    - `dispatched`: queued jobs whose render message the broker never took (the outbox), or took so long ago
      that it may have lost it, are sent (again: a second message for one job does nothing, see `_claim`);
    - `requeued` / `worker_lost`: running jobs whose heartbeat stopped (their worker died) go back to the
      queue, at most GENERATION_MAX_ATTEMPTS renders in all, then fail `worker_lost`;
    - `timed_out`: running past the time limit; `queue_timeout`: queued past the queue timeout."""
    now = timezone.now()
    counts = dict.fromkeys(("dispatched", "requeued", "worker_lost", "timed_out", "queue_timeout"), 0)
    unsent = Generation.objects.filter(
        status=GenerationStatus.QUEUED,
        dispatched_at__isnull=True,
        created_at__lt=now - timedelta(seconds=settings.GENERATION_DISPATCH_GRACE_S),
    )
    stale_sent = Generation.objects.filter(
        status=GenerationStatus.QUEUED,
        dispatched_at__lt=now - timedelta(seconds=settings.GENERATION_REDISPATCH_S),
    )
    for generation_id in list(unsent.values_list("pk", flat=True)) + list(
        stale_sent.values_list("pk", flat=True)
    ):
        generation_dispatch(generation_id=generation_id)
        counts["dispatched"] += 1

    lease_cutoff = now - timedelta(seconds=settings.GENERATION_LEASE_S)
    running_cutoff = now - timedelta(seconds=settings.GENERATION_TIME_LIMIT_S + 60)
    queued_cutoff = now - timedelta(seconds=settings.GENERATION_QUEUE_TIMEOUT_S)
    running = Generation.objects.filter(status=GenerationStatus.RUNNING)
    candidates = (
        list(running.filter(heartbeat_at__lt=lease_cutoff).values_list("pk", flat=True))
        + list(
            running.filter(heartbeat_at__isnull=True, started_at__lt=lease_cutoff).values_list(
                "pk", flat=True
            )
        )
        + list(running.filter(started_at__lt=running_cutoff).values_list("pk", flat=True))
        + list(
            Generation.objects.filter(
                status=GenerationStatus.QUEUED, created_at__lt=queued_cutoff
            ).values_list("pk", flat=True)
        )
    )
    for generation_id in dict.fromkeys(candidates):
        with transaction.atomic():
            generation = Generation.objects.select_for_update().filter(pk=generation_id).first()
            if generation is None:
                continue
            if generation.status == GenerationStatus.RUNNING and generation.started_at < running_cutoff:
                _finish(generation, GenerationStatus.FAILED, reason="timed_out")
                counts["timed_out"] += 1
            elif generation.status == GenerationStatus.RUNNING and lease.lease_expired(generation):
                if generation.attempts >= settings.GENERATION_MAX_ATTEMPTS:
                    _finish(generation, GenerationStatus.FAILED, reason="worker_lost")
                    counts["worker_lost"] += 1
                else:
                    logger.warning("generation %s: worker %s stopped beating; re-queued", generation.pk,
                                   generation.worker_id)  # fmt: skip
                    _release(generation, stage="requeued", resend=True)
                    generation_dispatch(generation_id=generation.pk)
                    counts["requeued"] += 1
            elif generation.status == GenerationStatus.QUEUED and generation.created_at < queued_cutoff:
                _finish(generation, GenerationStatus.FAILED, reason="queue_timeout")
                counts["queue_timeout"] += 1
    if any(counts.values()):
        logger.info("generation sweep", extra=counts)
    return counts
