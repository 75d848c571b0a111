"""Writes of the generation app: a prompt becomes a job (every check before any compute), a job is
canceled, published, deleted, taken down by a cameo owner, or withdrawn when its requester loses the right
to use a cameo in it. The render itself is `generation.runner`.

Irreversible effects (storage deletes, socket pushes) run only once the transaction commits."""

import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from cameos.models import Cameo, CameoKind, ProtectedLikeness
from cameos.selectors import cameo_get_by_mention, cameo_mention, cameo_use_refusal
from core.exceptions import ApplicationError
from core.realtime import push_to_user, push_to_user_on_commit
from core.tasks import enqueue_on_commit
from generation import policy
from generation.errors import GenerationError
from generation.models import IN_FLIGHT, Generation, GenerationCameo, GenerationStatus
from generation.selectors import generation_consent_refusals, remix_source_get
from generation.signals import generation_publishing
from ml.prompt import MAX_PROMPT_CHARS, PromptDefaults, PromptError, parse_prompt
from ml.scene import MAX_SEED, SceneSpec

IDEMPOTENCY_KEY_MAX_CHARS = 64

logger = logging.getLogger(__name__)


def _stop_and_strip(generation: Generation, *, reason: str) -> list[str]:
    """Delete the media (after commit), unpublish, and stop the job if still in flight: the runner re-reads
    the row between steps and gives up on a canceled job. Returns the fields changed; the caller saves."""
    delete_media(generation)
    generation.video = ""
    generation.poster = ""
    generation.published_at = None
    fields = ["video", "poster", "published_at"]
    if generation.status in IN_FLIGHT:
        generation.status = GenerationStatus.CANCELED
        generation.failure_reason = reason
        generation.finished_at = timezone.now()
        fields += ["status", "failure_reason", "finished_at"]
    return fields


def _take_down(generation: Generation, *, reason: str) -> None:
    """Strip the media and mark the row removed, never publishable again; its requester is told (after
    commit). The caller holds the row lock."""
    fields = _stop_and_strip(generation, reason=reason)
    generation.removed_at = timezone.now()
    generation.removed_reason = reason
    generation.save(update_fields=[*fields, "removed_at", "removed_reason"])
    push_to_user_on_commit(
        user_id=generation.requester_id,
        event_type="generation.removed",
        data={"generation_id": generation.pk, "reason": reason},
    )


# `removed_reason` of a video taken down by a moderation decision, before the rule broken. Such a take-down
# keeps the media (nobody may play it) so that an upheld appeal can restore the video.
MODERATION_REMOVAL_PREFIX = "moderation:"


@transaction.atomic
def generation_take_down(*, generation_id: int, rule: str) -> bool:
    """Take a video down for a moderation decision: gone from feeds, detail and media at once (the
    visibility selectors honour `removed_at`, and media is played only while not removed), its requester
    told. The files and `published_at` are kept, so that `generation_restore` can put it back as it was
    if the decision is reversed on appeal; `generation_removed_media_purge` deletes the files once no
    appeal can. False if there is no such video or it is already down."""
    generation = (
        Generation.objects.select_for_update().filter(pk=generation_id, removed_at__isnull=True).first()
    )
    if generation is None:
        return False
    reason = f"{MODERATION_REMOVAL_PREFIX}{rule}"
    generation.removed_at = timezone.now()
    generation.removed_reason = reason
    generation.save(update_fields=["removed_at", "removed_reason"])
    push_to_user_on_commit(
        user_id=generation.requester_id,
        event_type="generation.removed",
        data={"generation_id": generation.pk, "reason": reason},
    )
    return True


def _removed_by_moderation_for_update(generation_id: int) -> Generation | None:
    return (
        Generation.objects.select_for_update()
        .filter(pk=generation_id, removed_reason__startswith=MODERATION_REMOVAL_PREFIX)
        .exclude(removed_at__isnull=True)
        .first()
    )


@transaction.atomic
def generation_restore(*, generation_id: int) -> bool:
    """Undo a moderation take-down (its decision was reversed on appeal): the video is back as it was,
    in the feed again if it was published. If a cameo in it may no longer be used by its requester (consent
    withdrawn meanwhile), it is taken down for that instead, as `generations_withdraw_consent` would have.
    True if the video is back; False if it was not taken down by moderation, its media was purged, or
    consent took it down."""
    generation = _removed_by_moderation_for_update(generation_id)
    if generation is None or not generation.video:
        return False
    if generation_consent_refusals(generation=generation):
        _take_down(generation, reason=CONSENT_WITHDRAWN)
        return False
    generation.removed_at = None
    generation.removed_reason = ""
    generation.save(update_fields=["removed_at", "removed_reason"])
    push_to_user_on_commit(
        user_id=generation.requester_id,
        event_type="generation.restored",
        data={"generation_id": generation.pk},
    )
    return True


@transaction.atomic
def generation_removed_media_purge(*, generation_id: int) -> bool:
    """Delete (after commit) the kept media of a video a moderator took down, once no appeal can restore
    it (the appeal was denied, or the appeal window closed). False if there was nothing to purge."""
    generation = _removed_by_moderation_for_update(generation_id)
    if generation is None or not (generation.video or generation.poster):
        return False
    fields = _stop_and_strip(generation, reason=generation.removed_reason)
    generation.save(update_fields=fields)
    return True


@transaction.atomic
def appearance_remove(*, owner: User, generation_id: int) -> None:
    """A cameo owner takes down a generation that uses their cameo, whoever made it."""
    used_by_owner = GenerationCameo.objects.filter(owner=owner).values("generation_id")
    generation = Generation.objects.select_for_update().filter(pk=generation_id, pk__in=used_by_owner).first()
    if generation is None:
        raise ApplicationError(
            GenerationError.APPEARANCE_NOT_FOUND,
            f"No generation {generation_id} uses your cameo.",
            status=404,
        )
    if generation.removed_at is None and generation.deleted_at is None:
        _take_down(generation, reason="removed_by_cameo_owner")


CONSENT_WITHDRAWN = "consent_withdrawn"


@transaction.atomic
def generations_withdraw_consent(
    *, cameo_id: int | None = None, owner_id: int | None = None, requester_id: int | None = None
) -> int:
    """The one place where losing the right to use a cameo reaches videos that already exist.

    Among the live (not taken down, not deleted) generations using the cameos selected by `cameo_id` and/or
    `owner_id` (made by `requester_id`, when given), those whose requester may no longer use one of them
    (`cameos.selectors.cameo_use_refusal`, the one consent decision, asked once per requester and cameo)
    are taken down: media deleted after commit, unpublished, never publishable again, an in-flight job
    stopped. The requester hears `generation.removed` and each owner whose consent went
    `appearance.removed` (reason `consent_withdrawn` either way, which does not say whether a block, a
    narrowed permission or a deletion did it); the owners keep the row in their appearances.

    Called, through the lower apps' signals (generation/receivers.py), when a permission changes, an
    approval ends, a block or an unfollow happens, a cameo is deleted or erased, an account is deactivated.
    Returns how many generations came down."""
    if cameo_id is None and owner_id is None:
        raise ValueError("generations_withdraw_consent needs a cameo_id or an owner_id")
    # A video a moderator took down still holds its media for an appeal: losing consent deletes it too.
    restorable = Q(generation__removed_at__isnull=True) | Q(
        generation__removed_reason__startswith=MODERATION_REMOVAL_PREFIX
    )
    uses = GenerationCameo.objects.filter(restorable, generation__deleted_at__isnull=True)
    if cameo_id is not None:
        uses = uses.filter(cameo_id=cameo_id)
    if owner_id is not None:
        uses = uses.filter(owner_id=owner_id)
    if requester_id is not None:
        uses = uses.filter(generation__requester_id=requester_id)
    rows = list(uses.values_list("generation_id", "generation__requester_id", "cameo_id", "owner_id"))
    pairs = {(requester, cameo) for _, requester, cameo, _ in rows}
    requesters = User.objects.in_bulk({requester for requester, _ in pairs})
    cameos = Cameo.objects.select_related("owner").in_bulk({cameo for _, cameo in pairs if cameo is not None})
    lost = {
        (requester, cameo)
        for requester, cameo in pairs
        if cameo not in cameos
        or cameo_use_refusal(user=requesters[requester], cameo=cameos[cameo]) is not None
    }
    owners_by_generation: dict[int, set[int]] = {}
    for generation_id, requester, cameo, owner in rows:
        if (requester, cameo) in lost:
            owners_by_generation.setdefault(generation_id, set()).add(owner)
    taken = 0
    for generation in Generation.objects.select_for_update().filter(
        Q(removed_at__isnull=True) | Q(removed_reason__startswith=MODERATION_REMOVAL_PREFIX),
        pk__in=list(owners_by_generation),
        deleted_at__isnull=True,
    ):
        _take_down(generation, reason=CONSENT_WITHDRAWN)
        for owner in owners_by_generation[generation.pk] - {generation.requester_id}:
            push_to_user_on_commit(
                user_id=owner,
                event_type="appearance.removed",
                data={"generation_id": generation.pk, "reason": CONSENT_WITHDRAWN},
            )
        taken += 1
    return taken


# --- Creation: every check before any compute, in the documented order ------------------------------------


def _parse(prompt: str) -> SceneSpec:
    try:
        # A fresh seed per job: "generate again" gives a new take unless the prompt fixes `seed:`.
        return parse_prompt(prompt, defaults=PromptDefaults(seed=secrets.randbelow(MAX_SEED + 1)))
    except PromptError as error:
        raise ApplicationError(error.code, error.message, extra=error.location()) from error


def _resolve_mentions(*, requester: User, spec: SceneSpec) -> list[Cameo]:
    """1. Every mention is a cameo the requester may use now (the cameos app's one decision)."""
    return [cameo_get_by_mention(user=requester, mention=handle) for handle in spec.mentions]


def spec_text(spec: SceneSpec) -> str:
    """Everything a scene says, as one text for the policy: scene, shots, dialogue, sounds, style."""
    parts = [spec.text, *(shot.text for shot in spec.shots), *(line.text for line in spec.dialogue)]
    parts += [cue.description for cue in spec.cues]
    if spec.style:
        parts.append(spec.style)
    return "\n".join(part for part in parts if part)


def _check_policy(*, spec: SceneSpec, cameos: list[Cameo]) -> None:
    """2. The platform's prompt policy."""
    refusal = policy.prompt_refusal(
        spec_text(spec),
        mentions_people=any(cameo.kind == CameoKind.PERSON for cameo in cameos),
        protected_names=ProtectedLikeness.objects.values_list("name", flat=True),
    )
    if refusal is not None:
        raise ApplicationError(refusal.code, refusal.message, status=422, extra=refusal.extra)


def _check_restrictions(*, requester: User, spec: SceneSpec, cameos: list[Cameo]) -> None:
    """3. Each owner's restrictions on their cameo (an owner using their own cameo is not restricted)."""
    text = spec_text(spec)
    for cameo in cameos:
        if cameo.owner_id == requester.pk:
            continue
        hit = policy.restriction_hit(
            text, categories=cameo.restricted_categories, forbidden_words=cameo.forbidden_words
        )
        if hit is not None:
            what = f"the topic {hit['category']!r}" if "category" in hit else f"the word {hit['word']!r}"
            raise ApplicationError(
                GenerationError.CAMEO_RESTRICTED,
                f"@{cameo_mention(cameo)} does not allow {what} in videos with their cameo.",
                status=422,
                extra={"cameo_id": cameo.pk, "mention": cameo_mention(cameo), **hit},
            )


def _check_limits(*, requester: User) -> None:
    """4. Daily quota and concurrency. The caller holds the requester's row lock, so two requests at once
    cannot both take the last slot."""
    since = timezone.now() - timedelta(days=1)
    started_today = Generation.objects.filter(requester=requester, created_at__gte=since).count()
    if started_today >= settings.GENERATION_DAILY_QUOTA:
        raise ApplicationError(
            GenerationError.QUOTA_EXCEEDED,
            f"You have made {started_today} videos in the last 24 hours; the limit is "
            f"{settings.GENERATION_DAILY_QUOTA}.",
            status=429,
            extra={"limit": settings.GENERATION_DAILY_QUOTA},
        )
    in_flight = Generation.objects.filter(requester=requester, status__in=IN_FLIGHT).count()
    if in_flight >= settings.GENERATION_MAX_CONCURRENT:
        raise ApplicationError(
            GenerationError.TOO_MANY_RUNNING,
            f"{in_flight} of your videos are still being made; wait for one to finish "
            f"(at most {settings.GENERATION_MAX_CONCURRENT} at once).",
            status=429,
            extra={"limit": settings.GENERATION_MAX_CONCURRENT},
        )


def _idempotent_replay(
    *, requester: User, key: str, prompt: str, remix_of_id: int | None
) -> Generation | None:
    existing = Generation.objects.filter(requester=requester, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.prompt != prompt or existing.remix_of_id != remix_of_id:
        raise ApplicationError(
            GenerationError.IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was already used for a different request.",
            status=409,
            extra={"generation_id": existing.pk},
        )
    return existing


def check_idempotency_key(key: str) -> str:
    if len(key) > IDEMPOTENCY_KEY_MAX_CHARS or not key.isascii() or not key.isprintable():
        raise ApplicationError(
            GenerationError.BAD_IDEMPOTENCY_KEY,
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters.",
        )
    return key


def generation_create(
    *, requester: User, prompt: str, idempotency_key: str = "", remix_of_id: int | None = None
) -> tuple[Generation, bool]:
    """Turn a prompt into a queued job, or refuse it before any compute. Returns (job, created): a retried
    request with the same `idempotency_key` gets the job it created the first time (created False).

    Checks, each with its own error code, in this order: the prompt parses; (a remix's source is a
    published video the requester can see;) every mention resolves to a cameo the requester may use now;
    the prompt policy; each cameo owner's restrictions; the daily quota and the concurrency limit."""
    if idempotency_key:
        check_idempotency_key(idempotency_key)
        replay = _idempotent_replay(
            requester=requester, key=idempotency_key, prompt=prompt, remix_of_id=remix_of_id
        )
        if replay is not None:
            if replay.status == GenerationStatus.QUEUED and replay.dispatched_at is None:
                generation_dispatch(generation_id=replay.pk)  # its first send failed: the retry sends it
            return replay, False
    if len(prompt) > MAX_PROMPT_CHARS:  # before parsing, so a huge body costs nothing
        raise ApplicationError(
            "prompt_too_long", f"The prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}."
        )
    spec = _parse(prompt)
    remix_of = (
        remix_source_get(viewer=requester, generation_id=remix_of_id) if remix_of_id is not None else None
    )
    cameos = _resolve_mentions(requester=requester, spec=spec)
    _check_policy(spec=spec, cameos=cameos)
    _check_restrictions(requester=requester, spec=spec, cameos=cameos)
    try:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=requester.pk).first()
            _check_limits(requester=requester)
            generation = Generation.objects.create(
                requester=requester,
                prompt=prompt,
                spec=spec.to_dict(),
                idempotency_key=idempotency_key,
                remix_of=remix_of,
            )
            GenerationCameo.objects.bulk_create(
                GenerationCameo(
                    generation=generation, cameo=cameo, owner_id=cameo.owner_id, handle=cameo_mention(cameo)
                )
                for cameo in cameos
            )
            generation_dispatch(generation_id=generation.pk)
    except IntegrityError:
        # The same key raced in from a concurrent retry: that request made the job; return it.
        replay = (
            _idempotent_replay(
                requester=requester, key=idempotency_key, prompt=prompt, remix_of_id=remix_of_id
            )
            if idempotency_key
            else None
        )
        if replay is None:
            raise
        return replay, False
    return generation, True


def generation_dispatch(*, generation_id: int) -> None:
    """Send the job's render message once the current transaction commits (at once outside one), and record
    that the broker took it. The outbox: while `dispatched_at` is None the message was not sent (the broker was
    down), and the sweep (`generation.runner.generations_sweep`) sends it; a broker error never fails the
    request that created the job. Sending twice is harmless: the runner's claim ignores a job it cannot take."""
    # Imported here: the task module imports the runner, which imports this module.
    from generation.tasks import render_generation_task

    def mark_sent() -> None:
        try:
            Generation.objects.filter(pk=generation_id).update(dispatched_at=timezone.now())
        except DatabaseError:  # the message is out; the sweep may send another, which does nothing
            logger.warning("generation %s sent but not marked sent", generation_id, exc_info=True)

    enqueue_on_commit(render_generation_task, generation_id, on_sent=mark_sent)


# --- The requester's own job: cancel, publish, delete ------------------------------------------------------


def _own_generation_for_update(*, requester: User, generation_id: int) -> Generation:
    generation = (
        Generation.objects.select_for_update()
        .filter(pk=generation_id, requester=requester, deleted_at__isnull=True)
        .first()
    )
    if generation is None:
        raise ApplicationError(
            GenerationError.GENERATION_NOT_FOUND, f"You have no generation {generation_id}.", status=404
        )
    return generation


def push_status(generation: Generation, event_type: str = "generation.status") -> None:
    """Tell the requester's sockets where their job stands (after the commit that changed it)."""
    data: dict[str, Any] = {
        "generation_id": generation.pk,
        "status": generation.status,
        "progress": generation.progress,
        "stage": generation.stage,
        "failure_reason": generation.failure_reason,
    }
    transaction.on_commit(
        lambda: push_to_user(user_id=generation.requester_id, event_type=event_type, data=data)
    )


@transaction.atomic
def generation_cancel(*, requester: User, generation_id: int) -> Generation:
    """Stop a queued or running job. A running render notices at its next step and keeps nothing."""
    generation = _own_generation_for_update(requester=requester, generation_id=generation_id)
    if generation.status not in IN_FLIGHT:
        raise ApplicationError(
            GenerationError.GENERATION_NOT_CANCELABLE,
            f"Generation {generation.pk} is {generation.status}; only queued or running jobs can be canceled.",
            status=409,
        )
    generation.status = GenerationStatus.CANCELED
    generation.failure_reason = "canceled_by_requester"
    generation.finished_at = timezone.now()
    generation.save(update_fields=["status", "failure_reason", "finished_at"])
    push_status(generation)
    return generation


@transaction.atomic
def generation_publish(*, requester: User, generation_id: int) -> Generation:
    """Move a finished draft to the feed, if every cameo in it may still be used by the requester."""
    generation = _own_generation_for_update(requester=requester, generation_id=generation_id)
    if generation.removed_at is not None:
        raise ApplicationError(
            GenerationError.GENERATION_REMOVED,
            f"Generation {generation.pk} was taken down and cannot be published.",
            status=409,
        )
    if generation.status != GenerationStatus.SUCCEEDED:
        raise ApplicationError(
            GenerationError.GENERATION_NOT_PUBLISHABLE,
            f"Generation {generation.pk} is {generation.status}; only a finished video can be published.",
            status=409,
        )
    refusals = generation_consent_refusals(generation=generation)
    if refusals:
        raise ApplicationError(
            GenerationError.CONSENT_REVOKED,
            "A cameo in this video can no longer be used by you, so it cannot be published.",
            status=409,
            extra={"reasons": [refusal.code for refusal in refusals]},
        )
    generation_publishing.send(sender=Generation, generation=generation)
    if generation.published_at is None:
        generation.published_at = timezone.now()
        generation.save(update_fields=["published_at"])
    return generation


@transaction.atomic
def generation_unpublish(*, requester: User, generation_id: int) -> Generation:
    generation = _own_generation_for_update(requester=requester, generation_id=generation_id)
    if generation.published_at is not None:
        generation.published_at = None
        generation.save(update_fields=["published_at"])
    return generation


def delete_media(generation: Generation) -> None:
    """Delete the files the row names now, once the transaction commits: a change that rolls back leaves
    them in place (and a new file stored meanwhile under the same row gets a name of its own)."""
    names = [field_file.name for field_file in (generation.video, generation.poster) if field_file]

    def delete() -> None:
        for name in names:
            if default_storage.exists(name):
                default_storage.delete(name)

    transaction.on_commit(delete)


@transaction.atomic
def generation_delete(*, requester: User, generation_id: int) -> None:
    """The requester deletes their video (draft or published): its media goes (after commit) and a running
    render is stopped, but the row stays, marked deleted, as the cameo owners' record of the appearance
    (who, when, the prompt); nobody else sees it any more. Its Idempotency-Key is released."""
    generation = _own_generation_for_update(requester=requester, generation_id=generation_id)
    fields = _stop_and_strip(generation, reason="deleted_by_requester")
    generation.deleted_at = timezone.now()
    generation.idempotency_key = ""
    generation.save(update_fields=[*fields, "deleted_at", "idempotency_key"])
