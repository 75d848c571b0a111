"""Writes about cameos: challenges, uploads, verification, permissions, access requests, preferences,
deletion and erasure."""

import logging
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import are_mutuals, is_blocked_between
from accounts.services import handle_claim, handle_is_taken
from cameos import identity, preferences, reasons
from cameos.errors import CameoError
from cameos.models import (
    AccessRequestStatus,
    Cameo,
    CameoAccessRequest,
    CameoKind,
    CameoPermission,
    CameoStatus,
    CameoUpload,
    ErasureRecord,
    FaceEmbedding,
    HeadTurn,
    LivenessChallenge,
)
from cameos.signals import (
    cameo_access_granted,
    cameo_access_requested,
    cameo_consent_narrowed,
    cameo_held_for_review,
    cameo_withdrawn,
)
from core import leases
from core.errors import CoreError
from core.exceptions import ApplicationError
from core.realtime import push_to_user, push_to_user_on_commit
from core.tasks import enqueue_on_commit, task_send

logger = logging.getLogger(__name__)


# --- Challenges -------------------------------------------------------------------------------------------


def challenge_create(*, user: User, head_turn: bool = False) -> LivenessChallenge:
    now = timezone.now()
    open_challenges = LivenessChallenge.objects.filter(
        user=user, used_at__isnull=True, refused_at__isnull=True, expires_at__gt=now
    )
    if open_challenges.count() >= settings.CAMEO_MAX_OPEN_CHALLENGES:
        raise ApplicationError(
            CameoError.TOO_MANY_CHALLENGES,
            "You have too many open challenges: use one or wait a few minutes.",
            status=429,
        )
    digits = "".join(secrets.choice("0123456789") for _ in range(settings.CAMEO_CHALLENGE_DIGITS))
    return LivenessChallenge.objects.create(
        user=user,
        digits=digits,
        head_turn=secrets.choice([HeadTurn.LEFT, HeadTurn.RIGHT]) if head_turn else HeadTurn.NONE,
        expires_at=now + timedelta(seconds=settings.CAMEO_CHALLENGE_TTL_SECONDS),
    )


def _challenge_check(*, user: User, challenge_id: int, lock: bool) -> LivenessChallenge:
    queryset = LivenessChallenge.objects.select_for_update() if lock else LivenessChallenge.objects
    challenge = queryset.filter(pk=challenge_id, user=user).first()
    if challenge is None:
        raise ApplicationError(
            CameoError.CHALLENGE_NOT_FOUND, f"No challenge {challenge_id} of yours.", status=404
        )
    if challenge.used_at is not None:
        raise ApplicationError(
            CameoError.CHALLENGE_USED, "This challenge was already used: ask for a new one.", status=409
        )
    if challenge.expires_at <= timezone.now():
        raise ApplicationError(
            CameoError.CHALLENGE_EXPIRED, "This challenge has expired: ask for a new one.", status=409
        )
    return challenge


# --- Upload and creation ----------------------------------------------------------------------------------


def _check_can_create_person_cameo(owner: User) -> None:
    if Cameo.objects.filter(owner=owner, kind=CameoKind.PERSON).exclude(status=CameoStatus.REJECTED).exists():
        raise ApplicationError(
            CameoError.CAMEO_EXISTS,
            "You already have a cameo: delete it before recording a new one.",
            status=409,
        )


def _spool_copy(source: IO[bytes]) -> Path:
    """Copy an upload to a private temporary file (the probe and the models read paths)."""
    settings.CAMEO_UPLOAD_SPOOL_DIR.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=settings.CAMEO_UPLOAD_SPOOL_DIR, suffix=".upload")
    with open(handle, "wb") as target:
        shutil.copyfileobj(source, target, length=1024 * 1024)
    return Path(name)


def cameo_create(*, owner: User, challenge_id: int, recording: IO[bytes]) -> Cameo:
    """Accept a recording made against a challenge: probe it, store it, queue its verification.

    A refused file leaves nothing behind: not in storage, not in the database, and the challenge stays
    usable for a corrected upload while its open-challenge slot is freed."""
    _challenge_check(user=owner, challenge_id=challenge_id, lock=False)
    _check_can_create_person_cameo(owner)
    spooled = _spool_copy(recording)
    try:
        summary = _probe_for_challenge(spooled, challenge_id=challenge_id)
        return _cameo_store(
            owner=owner, challenge_id=challenge_id, spooled=spooled, extension=summary.container
        )
    finally:
        spooled.unlink(missing_ok=True)


def _probe_for_challenge(spooled: Path, *, challenge_id: int) -> identity.RecordingSummary:
    """Probe an upload; a refused file marks its challenge refused, which frees its open-challenge slot."""
    try:
        return identity.probe_recording(spooled)
    except ApplicationError as error:
        if error.code.startswith("media_"):
            LivenessChallenge.objects.filter(pk=challenge_id).update(refused_at=timezone.now())
        raise


def _cameo_store(*, owner: User, challenge_id: int, spooled: Path, extension: str) -> Cameo:
    stored_name: str | None = None
    try:
        with transaction.atomic():
            challenge = _challenge_check(user=owner, challenge_id=challenge_id, lock=True)
            _check_can_create_person_cameo(owner)
            # Our own name: the client's file name never reaches storage.
            with spooled.open("rb") as data:
                stored_name = default_storage.save(
                    f"cameos/{owner.pk}/recordings/{uuid.uuid4().hex}.{extension}", data
                )
            challenge.used_at = timezone.now()
            challenge.save(update_fields=["used_at"])
            cameo = Cameo.objects.create(
                owner=owner, kind=CameoKind.PERSON, recording=stored_name, challenge=challenge
            )
            from cameos.tasks import verify_cameo_task

            enqueue_on_commit(verify_cameo_task, cameo.pk)
            return cameo
    except BaseException:
        if stored_name is not None:
            default_storage.delete(stored_name)
        raise


def upload_start(*, owner: User, challenge_id: int, size: int) -> CameoUpload:
    """Open a resumable upload for a challenge: one per challenge, and per user at most
    CAMEO_MAX_OPEN_UPLOADS open, reserving at most CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER declared bytes.
    It lives no longer than its challenge (a recording can only be completed against a live challenge).
    Checked under the owner's row lock, so concurrent starts cannot both take the last slot."""
    _challenge_check(user=owner, challenge_id=challenge_id, lock=False)
    _check_can_create_person_cameo(owner)
    if size > settings.CAMEO_MAX_UPLOAD_BYTES:
        raise ApplicationError(
            CoreError.MEDIA_FILE_TOO_LARGE,
            f"Recordings are at most {settings.CAMEO_MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
            status=413,
        )
    for expired in CameoUpload.objects.filter(owner=owner, expires_at__lte=timezone.now()):
        _upload_discard(expired)  # their bytes count against nobody once gone
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).first()
        challenge = _challenge_check(user=owner, challenge_id=challenge_id, lock=True)
        now = timezone.now()
        open_uploads = CameoUpload.objects.filter(owner=owner, expires_at__gt=now)
        existing = open_uploads.filter(challenge=challenge).first()
        if existing is not None:
            raise ApplicationError(
                CameoError.UPLOAD_EXISTS,
                "This challenge already has an upload: resume it, or abort it to start again.",
                status=409,
                extra={"upload_id": str(existing.pk), "offset": existing.received},
            )
        if open_uploads.count() >= settings.CAMEO_MAX_OPEN_UPLOADS:
            raise ApplicationError(
                CameoError.TOO_MANY_UPLOADS,
                f"You have {settings.CAMEO_MAX_OPEN_UPLOADS} uploads open: finish or abort one first.",
                status=429,
                extra={"limit": settings.CAMEO_MAX_OPEN_UPLOADS},
            )
        reserved = sum(open_uploads.values_list("size", flat=True))
        if reserved + size > settings.CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER:
            raise ApplicationError(
                CameoError.UPLOAD_SPACE_EXCEEDED,
                "Your open uploads would hold more than "
                f"{settings.CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER // (1024 * 1024)} MB: "
                "finish or abort one first.",
                status=429,
                extra={
                    "limit_bytes": settings.CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER,
                    "reserved_bytes": reserved,
                },
            )
        upload = CameoUpload.objects.create(
            owner=owner,
            challenge=challenge,
            size=size,
            expires_at=min(now + timedelta(seconds=settings.CAMEO_UPLOAD_TTL_SECONDS), challenge.expires_at),
        )
    _spool_path(upload).parent.mkdir(parents=True, exist_ok=True)
    _spool_path(upload).touch()
    return upload


def uses_object_storage() -> bool:
    return hasattr(default_storage, "bucket_name")


def upload_start_direct(*, owner: User, challenge_id: int, size: int) -> tuple[CameoUpload, dict[str, Any]]:
    """A pre-signed POST straight to the bucket (S3 storage only): the web tier never carries the bytes.
    The policy binds the key and caps the size at the declared size; completing the upload probes the
    object before anything trusts it."""
    if not uses_object_storage():
        raise ApplicationError(
            CameoError.DIRECT_UPLOAD_UNAVAILABLE,
            "Direct uploads need object storage; use the resumable upload.",
            status=409,
        )
    upload = upload_start(owner=owner, challenge_id=challenge_id, size=size)
    _spool_path(upload).unlink(missing_ok=True)  # the bytes go to the bucket, not the spool
    upload.incoming_key = f"incoming/{owner.pk}/{upload.pk}"
    upload.save(update_fields=["incoming_key"])
    client = default_storage.signing_client  # core.storage.MediaS3Storage: signed for the public name
    post = client.generate_presigned_post(
        Bucket=default_storage.bucket_name,
        Key=upload.incoming_key,
        Conditions=[["content-length-range", 1, size]],
        # No longer than the upload itself, which lives no longer than its challenge.
        ExpiresIn=max(
            1,
            min(
                settings.CAMEO_DIRECT_UPLOAD_TTL_SECONDS,
                int((upload.expires_at - timezone.now()).total_seconds()),
            ),
        ),
    )
    return upload, {"url": post["url"], "fields": post["fields"]}


def _fetch_incoming(upload: CameoUpload) -> None:
    """Bring a directly uploaded object into the spool (at most the declared size) for probing."""
    client = default_storage.connection.meta.client
    try:
        head = client.head_object(Bucket=default_storage.bucket_name, Key=upload.incoming_key)
    except client.exceptions.ClientError as exc:
        raise ApplicationError(
            CameoError.UPLOAD_INCOMPLETE, "Nothing has arrived in storage for this upload yet.", status=409
        ) from exc
    if head["ContentLength"] > upload.size:
        raise ApplicationError(
            CameoError.UPLOAD_TOO_LONG, "The object is larger than the declared size.", status=413
        )
    settings.CAMEO_UPLOAD_SPOOL_DIR.mkdir(parents=True, exist_ok=True)
    client.download_file(default_storage.bucket_name, upload.incoming_key, str(_spool_path(upload)))
    upload.received = head["ContentLength"]
    upload.size = head["ContentLength"]


def _spool_path(upload: CameoUpload) -> Path:
    return settings.CAMEO_UPLOAD_SPOOL_DIR / f"{upload.pk}.part"


def _upload_refusal(upload: CameoUpload) -> ApplicationError | None:
    """Why an upload can no longer take bytes or complete: it, or its challenge, expired, or the
    challenge was used meanwhile (by another upload of the same recording)."""
    now = timezone.now()
    challenge = upload.challenge
    if challenge.used_at is not None:
        return ApplicationError(
            CameoError.CHALLENGE_USED,
            "This upload's challenge was already used: ask for a new one.",
            status=409,
        )
    if challenge.expires_at <= now:
        return ApplicationError(
            CameoError.CHALLENGE_EXPIRED,
            "This upload's challenge has expired: ask for a new one.",
            status=409,
        )
    if upload.expires_at <= now:
        return ApplicationError(
            CameoError.UPLOAD_EXPIRED, "This upload has expired: start again.", status=409
        )
    return None


def upload_get(*, owner: User, upload_id: uuid.UUID) -> CameoUpload:
    """The owner's open upload. One that can no longer complete is discarded (bytes and row) and refused,
    so dead uploads hold no spool space."""
    upload = CameoUpload.objects.select_related("challenge").filter(pk=upload_id, owner=owner).first()
    if upload is None:
        raise ApplicationError(
            CameoError.UPLOAD_NOT_FOUND, f"No open upload {upload_id} of yours.", status=404
        )
    refusal = _upload_refusal(upload)
    if refusal is not None:
        _upload_discard(upload)
        raise refusal
    return upload


def upload_append(*, owner: User, upload_id: uuid.UUID, offset: int, chunk: bytes) -> CameoUpload:
    """Write `chunk` at `offset`, which must be where the upload stands (a client resuming after a drop
    asks for the offset first). The row lock serialises concurrent chunks of one upload, and an abort or a
    completion racing with this chunk."""
    upload_get(owner=owner, upload_id=upload_id)  # refuses, and discards, one that cannot complete
    with transaction.atomic():
        upload = CameoUpload.objects.select_for_update().filter(pk=upload_id, owner=owner).first()
        if upload is None:  # aborted or completed meanwhile
            raise ApplicationError(
                CameoError.UPLOAD_NOT_FOUND, f"No open upload {upload_id} of yours.", status=404
            )
        if offset != upload.received:
            raise ApplicationError(
                CameoError.UPLOAD_OFFSET_MISMATCH,
                f"This upload stands at byte {upload.received}, not {offset}: resume from there.",
                status=409,
                extra={"offset": upload.received},
            )
        if upload.received + len(chunk) > upload.size:
            raise ApplicationError(
                CameoError.UPLOAD_TOO_LONG,
                f"The chunk goes past the declared size of {upload.size} bytes.",
                status=413,
            )
        with _spool_path(upload).open("r+b") as part:
            part.seek(offset)
            part.write(chunk)
            part.truncate()
        upload.received += len(chunk)
        upload.save(update_fields=["received"])
        return upload


def upload_complete(*, owner: User, upload_id: uuid.UUID) -> Cameo:
    upload = upload_get(owner=owner, upload_id=upload_id)
    if upload.incoming_key:
        _fetch_incoming(upload)
    if upload.received != upload.size:
        raise ApplicationError(
            CameoError.UPLOAD_INCOMPLETE,
            f"Received {upload.received} of {upload.size} bytes.",
            status=409,
            extra={"offset": upload.received},
        )
    spooled = _spool_path(upload)
    try:
        summary = _probe_for_challenge(spooled, challenge_id=upload.challenge_id)
        cameo = _cameo_store(
            owner=owner, challenge_id=upload.challenge_id, spooled=spooled, extension=summary.container
        )
    except ApplicationError as error:
        if error.code.startswith("media_"):
            _upload_discard(upload)  # the bytes are bad: resuming cannot fix them
        raise
    _upload_discard(upload)
    return cameo


def upload_abort(*, owner: User, upload_id: uuid.UUID) -> None:
    """The client gives up on an upload: the row goes now (freeing its challenge and its share of the
    user's limits), its bytes once that is committed. Waits for a chunk being written to finish."""
    with transaction.atomic():
        upload = CameoUpload.objects.select_for_update().filter(pk=upload_id, owner=owner).first()
        if upload is None:
            raise ApplicationError(
                CameoError.UPLOAD_NOT_FOUND, f"No open upload {upload_id} of yours.", status=404
            )
        spool, incoming_key = _spool_path(upload), upload.incoming_key
        upload.delete()
        transaction.on_commit(lambda: _upload_bytes_delete(spool=spool, incoming_key=incoming_key))


def _upload_bytes_delete(*, spool: Path, incoming_key: str) -> None:
    spool.unlink(missing_ok=True)
    if incoming_key and uses_object_storage():
        default_storage.connection.meta.client.delete_object(
            Bucket=default_storage.bucket_name, Key=incoming_key
        )


def _upload_discard(upload: CameoUpload) -> None:
    _upload_bytes_delete(spool=_spool_path(upload), incoming_key=upload.incoming_key)
    upload.delete()


# --- Characters -------------------------------------------------------------------------------------------


def character_create(*, owner: User, handle: str, display_name: str, image: bytes) -> Cameo:
    """A character cameo (pet, object, invented) from one image: no liveness, the same permission model.

    A character must not be a real person wearing a costume of a handle: the image is checked for human
    faces in the background, and one found sends it to review instead of into use."""
    if (
        User.objects.filter(username__lower=handle.lower()).exists()
        or Cameo.objects.filter(kind=CameoKind.CHARACTER, handle__lower=handle.lower()).exists()
        or handle_is_taken(name=handle)
    ):
        raise ApplicationError(CameoError.HANDLE_TAKEN, f"@{handle} is taken.", status=409)
    if (
        Cameo.objects.filter(owner=owner, kind=CameoKind.CHARACTER)
        .exclude(status=CameoStatus.REJECTED)
        .count()
        >= settings.CAMEO_MAX_CHARACTERS_PER_OWNER
    ):
        raise ApplicationError(
            CameoError.TOO_MANY_CHARACTERS,
            f"You have {settings.CAMEO_MAX_CHARACTERS_PER_OWNER} characters: delete one to make another.",
            status=409,
            extra={"limit": settings.CAMEO_MAX_CHARACTERS_PER_OWNER},
        )
    png = identity.read_character_image(image)
    stored_name = default_storage.save(
        f"cameos/{owner.pk}/references/{uuid.uuid4().hex}.png", ContentFile(png)
    )
    try:
        with transaction.atomic():
            cameo = Cameo.objects.create(
                owner=owner,
                kind=CameoKind.CHARACTER,
                handle=handle,
                display_name=display_name or handle,
                reference_image=stored_name,
            )
            handle_claim(name=handle)  # shared with usernames: one @name, one meaning
            from cameos.tasks import verify_character_task

            enqueue_on_commit(verify_character_task, cameo.pk)
            return cameo
    except IntegrityError as exc:  # lost a race for the handle (another character, or a sign-up)
        default_storage.delete(stored_name)
        raise ApplicationError(CameoError.HANDLE_TAKEN, f"@{handle} is taken.", status=409) from exc
    except BaseException:
        default_storage.delete(stored_name)
        raise


def character_verify(*, cameo_id: int) -> None:
    """Human faces in a character's image: a protected or other user's likeness is refused or reviewed,
    any other human face is reviewed; no face means the character is ready. Idempotent like `cameo_verify`,
    and under the same lease."""
    cameo = _verification_claim(cameo_id, character=True)
    if cameo is None:
        return
    with _verification_heartbeat(cameo), _verification_released_on_error(cameo):
        _character_check(cameo)


def _character_check(cameo: Cameo) -> None:
    cameo_id, holder = cameo.pk, cameo.verification_worker_id
    with default_storage.open(cameo.reference_image.name, "rb") as stored:
        faces = identity.faces_in_image(stored.read())
    if faces.count == 0:
        _finish(cameo_id, holder=holder, status=CameoStatus.VERIFIED, reason="", report={"faces": 0})
        return
    import numpy as np

    from cameos import likeness

    vector = np.frombuffer(faces.largest_embedding or b"", dtype="<f4")
    if likeness.find_protected_matches(vector=vector, max_distance=settings.CAMEO_PROTECTED_MAX_DISTANCE):
        _finish(
            cameo_id,
            holder=holder,
            status=CameoStatus.REJECTED,
            reason="protected_likeness",
            report={"faces": faces.count},
        )
        return
    lookalikes = likeness.find_impersonation_matches(
        vector=vector, owner_id=cameo.owner_id, max_distance=settings.CAMEO_IMPERSONATION_MAX_DISTANCE
    )
    _finish(
        cameo_id,
        holder=holder,
        status=CameoStatus.NEEDS_REVIEW,
        reason=reasons.LIKENESS_MATCH if lookalikes else reasons.CHARACTER_SHOWS_A_PERSON,
        report={"faces": faces.count},
        lookalikes=lookalikes,
        flag_reason="possible_impersonation" if lookalikes else "character_shows_a_person",
    )


# --- Verification -----------------------------------------------------------------------------------------


LEASE_FIELDS = ["verification_worker_id", "verification_heartbeat_at"]


def _verification_lease_expired(cameo: Cameo) -> bool:
    return leases.lease_is_stale(
        beat=cameo.verification_heartbeat_at,
        worker_id=cameo.verification_worker_id,
        lease_s=settings.CAMEO_VERIFICATION_LEASE_S,
    )


def _verification_claim(cameo_id: int, *, character: bool) -> Cameo | None:
    """Take the lease of a cameo to verify (`uploaded`, or `processing` under a dead holder's lease). None:
    nothing to do here (gone, already decided, held by a live worker, or out of attempts: then rejected)."""
    with transaction.atomic():
        cameo = (
            Cameo.objects.select_for_update(of=("self",))
            .filter(pk=cameo_id, kind=CameoKind.CHARACTER if character else CameoKind.PERSON)
            .select_related("challenge")
            .first()
        )
        if cameo is None or cameo.status not in (CameoStatus.UPLOADED, CameoStatus.PROCESSING):
            return None
        if cameo.status == CameoStatus.PROCESSING:
            if not _verification_lease_expired(cameo):
                logger.info("cameo %s is being verified by %s: this delivery does nothing", cameo.pk,
                            cameo.verification_worker_id)  # fmt: skip
                return None
            if cameo.verification_attempts >= settings.CAMEO_VERIFICATION_MAX_ATTEMPTS:
                _verification_interrupted(cameo)
                return None
        cameo.status = CameoStatus.PROCESSING
        cameo.verification_worker_id = leases.worker_identity()
        cameo.verification_heartbeat_at = timezone.now()
        cameo.verification_attempts += 1
        cameo.save(update_fields=["status", "verification_attempts", "updated_at", *LEASE_FIELDS])
    return cameo


def _verification_interrupted(cameo: Cameo) -> None:
    """Out of attempts (its workers kept dying): rejected, so the owner can record again (caller holds the lock)."""
    logger.warning("cameo %s: verification interrupted %s times; rejected", cameo.pk,
                   cameo.verification_attempts)  # fmt: skip
    cameo.status, cameo.rejection_reason = CameoStatus.REJECTED, reasons.VERIFICATION_INTERRUPTED
    cameo.verification_worker_id, cameo.verification_heartbeat_at = "", None
    cameo.save(update_fields=["status", "rejection_reason", "updated_at", *LEASE_FIELDS])
    transaction.on_commit(lambda: _progress(cameo, "finished", 1.0))


def _verification_heartbeat(cameo: Cameo) -> leases.Heartbeat:
    return leases.Heartbeat(
        Cameo.objects.filter(
            pk=cameo.pk, status=CameoStatus.PROCESSING, verification_worker_id=cameo.verification_worker_id
        ),
        interval_s=settings.CAMEO_VERIFICATION_HEARTBEAT_S,
        name=f"cameo {cameo.pk}",
        heartbeat_field="verification_heartbeat_at",
    )


@contextmanager
def _verification_released_on_error(cameo: Cameo) -> Iterator[None]:
    """A verification that raised (the task may retry, e.g. on OSError) gives its lease up, so the retry, or
    the sweep's next delivery, takes the cameo at once; the attempt still counts."""
    try:
        yield
    except BaseException:
        try:
            leases.with_reconnect(
                lambda: Cameo.objects.filter(
                    pk=cameo.pk,
                    status=CameoStatus.PROCESSING,
                    verification_worker_id=cameo.verification_worker_id,
                ).update(verification_worker_id="", verification_heartbeat_at=None)
            )
        except DatabaseError:  # the database is away: the lease expires by itself
            logger.warning("cameo %s: lease not released", cameo.pk, exc_info=True)
        raise


def _progress(cameo: Cameo, stage: str, fraction: float) -> None:
    push_to_user(
        user_id=cameo.owner_id,
        event_type="cameo.progress",
        data={
            "cameo_id": cameo.pk,
            "status": cameo.status,
            "status_reason": cameo.rejection_reason,
            "status_message": reasons.status_message(status=cameo.status, reason=cameo.rejection_reason),
            "stage": stage,
            "progress": fraction,
        },
    )


def cameo_verify(*, cameo_id: int) -> None:
    """Verify an uploaded person cameo: liveness and identity, then the likeness search.

    Idempotent for redelivery, and never run twice at once: the claim takes a lease on the row (core.leases;
    `_verification_claim`). A cameo already past `processing` is left alone; one whose lease is live (another
    worker is verifying it) too; one left in `processing` by a dead worker (heartbeat older than
    CAMEO_VERIFICATION_LEASE_S, or its process gone from this host) is taken over, at most
    CAMEO_VERIFICATION_MAX_ATTEMPTS starts in all. The result is written under a row lock and only while the
    lease is still this claim's, so two deliveries leave one result and one embedding row."""
    cameo = _verification_claim(cameo_id, character=False)
    if cameo is None:
        return
    with _verification_heartbeat(cameo), _verification_released_on_error(cameo):
        _cameo_check(cameo)


def _cameo_check(cameo: Cameo) -> None:
    cameo_id, holder = cameo.pk, cameo.verification_worker_id
    _progress(cameo, "started", 0.05)

    challenge = cameo.challenge
    digits = challenge.digits if challenge else ""
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / Path(cameo.recording.name).name
        with default_storage.open(cameo.recording.name, "rb") as source, local.open("wb") as target:
            shutil.copyfileobj(source, target)
        _progress(cameo, "analysing", 0.2)
        try:
            outcome = identity.check_recording(
                local, digits=digits, head_turn=bool(challenge and challenge.head_turn)
            )
        except Exception as exc:
            from ml.media import MediaError

            if not isinstance(exc, MediaError):
                raise
            _finish(cameo_id, holder=holder, status=CameoStatus.REJECTED, reason=f"media_{exc.code}")
            return

    if not outcome.passed:
        _finish(
            cameo_id, holder=holder, status=CameoStatus.REJECTED, reason=outcome.reason, report=outcome.report
        )
        return
    _progress(cameo, "likeness_search", 0.8)
    import numpy as np

    from cameos import likeness

    vector = np.frombuffer(outcome.face_embedding or b"", dtype="<f4")
    protected = likeness.find_protected_matches(
        vector=vector, max_distance=settings.CAMEO_PROTECTED_MAX_DISTANCE
    )
    if protected:
        _finish(
            cameo_id,
            holder=holder,
            status=CameoStatus.REJECTED,
            reason="protected_likeness",
            report=outcome.report,
        )
        return
    lookalikes = likeness.find_impersonation_matches(
        vector=vector, owner_id=cameo.owner_id, max_distance=settings.CAMEO_IMPERSONATION_MAX_DISTANCE
    )
    status = CameoStatus.NEEDS_REVIEW if lookalikes else CameoStatus.VERIFIED
    _finish(
        cameo_id,
        holder=holder,
        status=status,
        reason=reasons.LIKENESS_MATCH if lookalikes else "",
        report=outcome.report,
        outcome=outcome,
        lookalikes=lookalikes,
    )


def _finish(
    cameo_id: int,
    *,
    holder: str,
    status: str,
    reason: str,
    report: dict[str, Any] | None = None,
    outcome: identity.LivenessOutcome | None = None,
    lookalikes: list[Any] | None = None,
    flag_reason: str | None = None,
) -> None:
    # The reference crop is stored first, under an unguessable name (random, never derived from ids), and
    # deleted again unless the result that points at it is committed.
    reference: str | None = None
    owner_id = Cameo.objects.filter(pk=cameo_id).values_list("owner_id", flat=True).first()
    if outcome is not None and outcome.reference_png is not None and owner_id is not None:
        reference = default_storage.save(
            f"cameos/{owner_id}/references/{secrets.token_hex(16)}.png",
            ContentFile(outcome.reference_png),
        )
    written = False
    try:
        written = _finish_locked(
            cameo_id,
            holder=holder,
            status=status,
            reason=reason,
            report=report,
            outcome=outcome,
            reference=reference,
            lookalikes=lookalikes,
            flag_reason=flag_reason,
        )
    finally:
        if reference is not None and not written:
            default_storage.delete(reference)


def _finish_locked(
    cameo_id: int,
    *,
    holder: str,
    status: str,
    reason: str,
    report: dict[str, Any] | None,
    outcome: identity.LivenessOutcome | None,
    reference: str | None,
    lookalikes: list[Any] | None,
    flag_reason: str | None,
) -> bool:
    """Write a verification result under the row lock, only if the cameo is still `processing` under the
    lease of `holder` (this claim)."""
    with transaction.atomic():
        cameo = Cameo.objects.select_for_update().filter(pk=cameo_id).first()
        if cameo is None or cameo.status != CameoStatus.PROCESSING or cameo.verification_worker_id != holder:
            return False  # deleted meanwhile, or another delivery took over (and finishes) or finished first
        cameo.status = status
        # the owner is told why a cameo is rejected or held (cameos/reasons.py)
        cameo.rejection_reason = reason if status in (CameoStatus.REJECTED, CameoStatus.NEEDS_REVIEW) else ""
        cameo.verification_report = report or {}
        cameo.verification_worker_id, cameo.verification_heartbeat_at = "", None
        fields = ["status", "rejection_reason", "verification_report", "updated_at", *LEASE_FIELDS]
        if outcome is not None:
            cameo.transcript = outcome.transcript
            cameo.voice_embedding = outcome.voice_embedding
            fields += ["transcript", "voice_embedding"]
            if reference is not None:
                # A re-run (a worker died mid-way) replaces the crop; the old one goes once this commits.
                replaced = cameo.reference_image.name if cameo.reference_image else ""
                cameo.reference_image = reference
                fields.append("reference_image")
                if replaced:
                    transaction.on_commit(lambda: default_storage.delete(replaced))
            FaceEmbedding.objects.update_or_create(
                cameo=cameo,
                defaults={
                    "vector": outcome.face_embedding,
                    "dimensions": outcome.face_dimensions,
                    "model_name": outcome.face_model,
                },
            )
        if status == CameoStatus.VERIFIED:
            cameo.verified_at = timezone.now()
            fields.append("verified_at")
        cameo.save(update_fields=fields)
        if status == CameoStatus.VERIFIED and outcome is not None:  # a person's face joins the search
            from cameos import likeness

            transaction.on_commit(lambda: likeness.index_cameo(cameo))
        if lookalikes or flag_reason:
            cameo_held_for_review.send(
                sender=Cameo,
                cameo=cameo,
                source="likeness_match",
                reason=flag_reason or "possible_impersonation",
                evidence={
                    "matches": [
                        {
                            "cameo_id": match.cameo_id,
                            "owner_id": match.owner_id,
                            "distance": round(match.distance, 4),
                        }
                        for match in lookalikes or []
                    ]
                },
                priority=50,
            )
    transaction.on_commit(lambda: _progress(cameo, "finished", 1.0))
    return True


def cameo_review_decide(*, cameo_id: int, approve: bool) -> Cameo:
    """A moderator's decision on a cameo held for review: it becomes verified (and searchable for
    likeness) or rejected (`review_rejected`); the owner is told on their socket after commit."""
    with transaction.atomic():
        cameo = Cameo.objects.select_for_update().filter(pk=cameo_id).first()
        if cameo is None or cameo.status != CameoStatus.NEEDS_REVIEW:
            raise ApplicationError(
                CameoError.CAMEO_NOT_IN_REVIEW, f"Cameo {cameo_id} is not held for review.", status=409
            )
        if approve:
            _review_verify(cameo)
        else:
            cameo.status, cameo.rejection_reason = CameoStatus.REJECTED, reasons.REVIEW_REJECTED
            cameo.save(update_fields=["status", "rejection_reason", "verified_at", "updated_at"])
        _push_reviewed(cameo)
    return cameo


@transaction.atomic
def cameo_review_reverse(*, cameo_id: int) -> bool:
    """Undo a moderator's rejection of a held cameo (the owner's appeal was upheld): it becomes verified,
    as an approval would have made it, and the owner is told. False when that is no longer possible: the
    cameo is not review-rejected, or its biometric data was erased since (retention, or its deletion)."""
    cameo = (
        Cameo.objects.select_for_update()
        .filter(pk=cameo_id, status=CameoStatus.REJECTED, rejection_reason=reasons.REVIEW_REJECTED)
        .first()
    )
    if cameo is None or ErasureRecord.objects.filter(cameo_id=cameo_id).exists():
        return False
    _review_verify(cameo)
    _push_reviewed(cameo)
    return True


def _review_verify(cameo: Cameo) -> None:
    """Verified on a moderator's word, and searchable for likeness once committed (caller holds the lock)."""
    cameo.status, cameo.rejection_reason, cameo.verified_at = CameoStatus.VERIFIED, "", timezone.now()
    cameo.save(update_fields=["status", "rejection_reason", "verified_at", "updated_at"])
    if FaceEmbedding.objects.filter(cameo=cameo).exists():
        from cameos import likeness

        transaction.on_commit(lambda: likeness.index_cameo(cameo))


def _push_reviewed(cameo: Cameo) -> None:
    event = {
        "cameo_id": cameo.pk,
        "status": cameo.status,
        "status_reason": cameo.rejection_reason,
        "status_message": reasons.status_message(status=cameo.status, reason=cameo.rejection_reason),
    }
    transaction.on_commit(lambda: push_to_user(user_id=cameo.owner_id, event_type="cameo.reviewed", data=event))


# --- Permissions, access requests, preferences ------------------------------------------------------------


@transaction.atomic
def cameo_update_settings(
    *,
    cameo: Cameo,
    permission: str | None = None,
    guidance: str | None = None,
    restricted_categories: list[str] | None = None,
    forbidden_words: list[str] | None = None,
) -> Cameo:
    fields: list[str] = []
    if permission is not None and permission != cameo.permission:
        if permission == CameoPermission.EVERYONE and cameo.owner.is_minor:
            raise ApplicationError(
                CameoError.MINOR_CANNOT_SHARE_WITH_EVERYONE,
                "Teen accounts cannot share their cameo with everyone.",
                status=403,
            )
        cameo.permission = permission
        fields.append("permission")
    if guidance is not None:
        cameo.guidance = preferences.clean_guidance(guidance)
        fields.append("guidance")
    if restricted_categories is not None:
        cameo.restricted_categories = sorted(set(restricted_categories))
        fields.append("restricted_categories")
    if forbidden_words is not None:
        cameo.forbidden_words = preferences.clean_forbidden_words(forbidden_words)
        fields.append("forbidden_words")
    if fields:
        cameo.save(update_fields=[*fields, "updated_at"])
    if "permission" in fields:
        # Any change, not only a move towards "only me": the levels are not nested for everyone (a minor
        # mutual may use a "mutuals" cameo but not an "everyone" one), so the consent rule decides who lost.
        cameo_consent_narrowed.send(sender=Cameo, cameo=cameo, requester=None)
    return cameo


def _is_stranger_to_a_minor(*, sender: User, recipient: User) -> bool:
    """Teen protection for free text: a minor (or an account of unknown age) hears in words only from people
    they follow and who follow them back. Ages are self-declared, so "an adult stranger" cannot be told
    apart from any stranger: the rule covers every stranger, whatever the age they gave."""
    return recipient.is_minor and not are_mutuals(sender, recipient)


@transaction.atomic
def access_request_create(*, cameo: Cameo, requester: User, message: str = "") -> CameoAccessRequest:
    if cameo.owner_id == requester.pk:
        raise ApplicationError(CameoError.CANNOT_REQUEST_OWN_CAMEO, "This is your own cameo.")
    if is_blocked_between(requester, cameo.owner) or cameo.status != CameoStatus.VERIFIED:
        raise ApplicationError(
            CameoError.CAMEO_NOT_FOUND, f"No cameo {cameo.pk} that you can see.", status=404
        )
    if cameo.permission == CameoPermission.ONLY_ME:
        raise ApplicationError(
            CameoError.CAMEO_NOT_ACCEPTING_REQUESTS, "This cameo is not shared with anyone.", status=403
        )
    if message and _is_stranger_to_a_minor(sender=requester, recipient=cameo.owner):
        raise ApplicationError(
            CameoError.MESSAGE_TO_MINOR_NOT_ALLOWED,
            "Only people who follow each other can send a teen a message: ask without one.",
            status=403,
        )
    request, created = CameoAccessRequest.objects.get_or_create(
        cameo=cameo, requester=requester, defaults={"message": message}
    )
    if not created and request.status == AccessRequestStatus.DENIED:
        raise ApplicationError(
            CameoError.ACCESS_REQUEST_DENIED, "The owner declined your request.", status=409
        )
    if created:
        push_to_user_on_commit(
            user_id=cameo.owner_id,
            event_type="cameo.access_requested",
            data={"cameo_id": cameo.pk, "request_id": request.pk, "requester": requester.username},
        )
        cameo_access_requested.send(sender=Cameo, cameo=cameo, requester=requester, request=request)
    return request


@transaction.atomic
def access_request_decide(*, owner: User, request_id: int, approve: bool) -> CameoAccessRequest:
    """Approve or deny a request; denying one approved before ends the grant like removing it."""
    request = (
        CameoAccessRequest.objects.select_for_update()
        .select_related("cameo")
        .filter(pk=request_id, cameo__owner=owner)
        .first()
    )
    if request is None:
        raise ApplicationError(
            CameoError.ACCESS_REQUEST_NOT_FOUND,
            f"No access request {request_id} for your cameos.",
            status=404,
        )
    was_approved = request.status == AccessRequestStatus.APPROVED
    request.status = AccessRequestStatus.APPROVED if approve else AccessRequestStatus.DENIED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    if was_approved and not approve:
        cameo_consent_narrowed.send(sender=Cameo, cameo=request.cameo, requester=request.requester)
    if approve and not was_approved:
        cameo_access_granted.send(sender=Cameo, cameo=request.cameo, request=request)
    push_to_user_on_commit(
        user_id=request.requester_id,
        event_type="cameo.access_decided",
        data={"cameo_id": request.cameo_id, "request_id": request.pk, "status": request.status},
    )
    return request


@transaction.atomic
def access_request_remove(*, owner: User, request_id: int) -> None:
    """Withdraw an approval (or forget a request): the grant ends at once, for the requester's next use
    and for the videos they already made with it."""
    request = (
        CameoAccessRequest.objects.select_related("cameo", "requester")
        .filter(pk=request_id, cameo__owner=owner)
        .first()
    )
    if request is None:
        raise ApplicationError(
            CameoError.ACCESS_REQUEST_NOT_FOUND,
            f"No access request {request_id} for your cameos.",
            status=404,
        )
    request.delete()
    if request.status == AccessRequestStatus.APPROVED:
        cameo_consent_narrowed.send(sender=Cameo, cameo=request.cameo, requester=request.requester)


# --- Deletion and erasure ---------------------------------------------------------------------------------


@transaction.atomic
def cameo_delete(*, cameo: Cameo, reason: str = "owner_deleted") -> ErasureRecord:
    """Take the cameo out of use at once, then erase its data in the background."""
    record, _ = ErasureRecord.objects.get_or_create(
        cameo_id=cameo.pk,
        defaults={"owner_id": cameo.owner_id, "reason": reason, "requested_at": timezone.now()},
    )
    # Out of use immediately: the consent selector refuses anything not verified, and the videos made with
    # it come down now (the receivers of `cameo_withdrawn`), not when the erasure job gets to run.
    Cameo.objects.filter(pk=cameo.pk).update(status=CameoStatus.REJECTED, rejection_reason="deleted")
    cameo_withdrawn.send(sender=Cameo, cameo_id=cameo.pk)
    from cameos.tasks import erase_cameo_task

    enqueue_on_commit(erase_cameo_task, cameo.pk)
    return record


def cameo_erase(*, cameo_id: int) -> None:
    """Destroy a cameo's raw media, reference image, transcript and embeddings, in storage and in the
    database, leaving its ErasureRecord. Idempotent: safe to run again after a crash at any point."""
    cameo = Cameo.objects.filter(pk=cameo_id).first()
    files_deleted = 0
    if cameo is not None:
        for field_file in (cameo.recording, cameo.reference_image):
            if field_file and default_storage.exists(field_file.name):
                default_storage.delete(field_file.name)
                files_deleted += 1
        from cameos import likeness

        cameo_withdrawn.send(sender=Cameo, cameo_id=cameo_id)
        likeness.unindex_cameo(cameo_id)
        cameo.delete()  # cascades to the face embedding and access requests
    ErasureRecord.objects.filter(cameo_id=cameo_id, completed_at__isnull=True).update(
        completed_at=timezone.now(), files_deleted=files_deleted
    )


def purge_abandoned() -> dict[str, int]:
    """Retention: expired challenges and resumable uploads go; cameos never verified (rejected, or stuck
    uploading/processing) lose their biometric data once older than the retention period."""
    now = timezone.now()
    expired_uploads = list(CameoUpload.objects.filter(expires_at__lte=now))
    for upload in expired_uploads:
        _upload_discard(upload)
    challenges, _ = LivenessChallenge.objects.filter(
        expires_at__lte=now - timedelta(days=1), cameo__isnull=True
    ).delete()
    cutoff = now - timedelta(seconds=settings.CAMEO_ABANDONED_RETENTION_SECONDS)
    stale = Cameo.objects.filter(
        status__in=[CameoStatus.REJECTED, CameoStatus.UPLOADED, CameoStatus.PROCESSING], updated_at__lt=cutoff
    ).values_list("pk", flat=True)
    erased = 0
    for cameo_id in list(stale):
        with transaction.atomic():
            ErasureRecord.objects.get_or_create(
                cameo_id=cameo_id,
                defaults={
                    "owner_id": Cameo.objects.get(pk=cameo_id).owner_id,
                    "reason": "retention",
                    "requested_at": now,
                },
            )
        cameo_erase(cameo_id=cameo_id)
        erased += 1
    return {"uploads": len(expired_uploads), "challenges": challenges, "cameos": erased}


def owner_uploads_discard(*, owner: User) -> None:
    for upload in list(CameoUpload.objects.filter(owner=owner)):
        _upload_discard(upload)
    LivenessChallenge.objects.filter(user=owner).delete()


def requeue_stuck_verifications() -> int:
    """The verification sweep, on beat every CAMEO_VERIFICATION_SWEEP_INTERVAL_S. Sends verification again for
    a cameo `processing` whose lease expired (its worker died: heartbeat older than CAMEO_VERIFICATION_LEASE_S),
    at most CAMEO_VERIFICATION_MAX_ATTEMPTS starts in all, then rejects it `verification_interrupted`; and for
    one still `uploaded` after CAMEO_VERIFICATION_STUCK_AFTER_SECONDS (an enqueue lost with the broker down at
    commit). Safe because a delivery to a cameo under a live lease does nothing. Returns how many were sent."""
    from cameos.tasks import verify_cameo_task, verify_character_task

    now = timezone.now()
    lease_cutoff = now - timedelta(seconds=settings.CAMEO_VERIFICATION_LEASE_S)
    recent = Cameo.objects.filter(
        updated_at__gt=now - timedelta(seconds=settings.CAMEO_ABANDONED_RETENTION_SECONDS)
    )
    processing = recent.filter(status=CameoStatus.PROCESSING)
    candidates = (
        list(processing.filter(verification_heartbeat_at__lt=lease_cutoff).values_list("pk", flat=True))
        + list(
            processing.filter(
                verification_heartbeat_at__isnull=True, updated_at__lt=lease_cutoff
            ).values_list("pk", flat=True)
        )
        + list(
            recent.filter(
                status=CameoStatus.UPLOADED,
                updated_at__lt=now - timedelta(seconds=settings.CAMEO_VERIFICATION_STUCK_AFTER_SECONDS),
            ).values_list("pk", flat=True)
        )
    )
    sent = 0
    for cameo_id in dict.fromkeys(candidates):
        with transaction.atomic():
            cameo = Cameo.objects.select_for_update().filter(pk=cameo_id).first()
            if cameo is None or cameo.status not in (CameoStatus.UPLOADED, CameoStatus.PROCESSING):
                continue
            if cameo.status == CameoStatus.PROCESSING:
                if cameo.verification_worker_id and not _verification_lease_expired(cameo):
                    continue  # it beat again since the query
                if cameo.verification_attempts >= settings.CAMEO_VERIFICATION_MAX_ATTEMPTS:
                    _verification_interrupted(cameo)
                    continue
                logger.warning("cameo %s: verifier %r stopped beating; sent again", cameo.pk,
                               cameo.verification_worker_id)  # fmt: skip
                # released: the delivery takes it at once; sent again one lease later if it never starts
                cameo.verification_worker_id, cameo.verification_heartbeat_at = "", None
                cameo.save(update_fields=["updated_at", *LEASE_FIELDS])
            kind = cameo.kind
        task = verify_character_task if kind == CameoKind.CHARACTER else verify_cameo_task
        if task_send(task, cameo_id):
            sent += 1
    return sent
