"""Reads of the generation app.

Who may see a video is decided in one place, `generations_visible_to(viewer)`: a queryset-level rule that
every list (the requester's videos, the feed, share pages) and every single read (`generation_get_visible`:
detail, signed media, provenance answers; `remix_source_get`) is built on. It is one SQL query whatever the
page size: blocks are `EXISTS` subqueries, and consent that was withdrawn is already on the row
(`removed_at`, written by `generation.services.generations_withdraw_consent` when the right was lost)."""

from collections.abc import Callable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Now

from accounts.models import Block, User
from accounts.selectors import is_adult_q, mutuals_with_q
from cameos.errors import CameoError
from cameos.selectors import cameo_get_owned, cameo_use_refusal
from core.exceptions import ApplicationError
from generation.errors import GenerationError
from generation.models import Generation, GenerationCameo, GenerationStatus
from ml.scene import Aspect, Resolution, frame_size


def _blocked_with(viewer: User, user_field: str) -> Q:
    """A block, either way, between `viewer` and the user in `user_field` of the row. Written as two
    uncorrelated `IN` subqueries over the viewer's own blocks (a handful of ids, read once per query and
    hashed), not a correlated `EXISTS` with an `OR` inside: PostgreSQL cannot drive that `OR` from an index,
    and for the cameo owners it hashed every appearance of every cameo instead (all of
    `generation_generationcameo` per feed page: 100 ms at 1M posts, bench/RESULTS.md)."""
    blocked_either_way = (
        Block.objects.filter(blocker=viewer)
        .values_list("blocked", flat=True)
        .union(Block.objects.filter(blocked=viewer).values_list("blocker", flat=True))
    )
    return Q(**{f"{user_field}__in": blocked_either_way})


def _is_up() -> Q:
    """Published and still up: finished cleanly, not taken down (by an owner, a withdrawn consent, an
    erasure or a moderator), not deleted, by an active account that is not suspended (a moderator's
    suspension hides the account's posts until it ends; a ban deactivates the account)."""
    return Q(
        published_at__isnull=False,
        removed_at__isnull=True,
        deleted_at__isnull=True,
        status=GenerationStatus.SUCCEEDED,
        requester__is_active=True,
    ) & (Q(requester__suspended_until__isnull=True) | Q(requester__suspended_until__lte=Now()))


# Rules of the apps above generation (which it may not import) on who a published video is shown to: each
# takes the viewer and returns a condition on `Generation` rows that must hold for someone else's published
# video (`register_published_audience_rule`).
_published_audience_rules: list[Callable[[Any], Q]] = []


def register_published_audience_rule(rule: Callable[[Any], Q]) -> None:
    """A higher app narrows which published videos of others every read of generations shows `viewer`
    (`rule(viewer)`: a condition on `Generation` rows), in its `AppConfig.ready`: the feed hides a post
    marked for adults only from minors, people of unknown age and anonymous visitors, so share pages and
    media URLs follow it as feeds do. `register_published_audience` is its counterpart for one video's
    media."""
    if rule not in _published_audience_rules:
        _published_audience_rules.append(rule)


def _published_audience_admits(viewer: Any) -> Q:
    condition = Q()
    for rule in _published_audience_rules:
        condition &= rule(viewer)
    return condition


def _adult_stranger_shows_a_minor(viewer: User) -> Q:
    """Teen rule: the requester is an adult who does not follow each other with `viewer`, and the video
    features the cameo of a person (not a character) who is a minor."""
    features_a_minor = Exists(
        GenerationCameo.objects.filter(generation=OuterRef("pk"), cameo__kind="person").exclude(
            is_adult_q("owner")
        )
    )
    return is_adult_q("requester") & ~mutuals_with_q(viewer, "requester") & Q(features_a_minor)


def generations_visible_to(viewer: Any) -> QuerySet[Generation]:
    """Every generation `viewer` (a user, or anonymous) may see:

    - their own, in any state (a taken-down one shows why; a deleted one is gone);
    - one that uses their cameo (their appearance, drafts included);
    - a published one that is still up;

    except that a block either way with any cameo owner in a video hides it (the owner's likeness is hidden
    from the blocked person everywhere), and a block with the requester hides their published videos. The
    requester's own videos are never hidden from them: a block with a cameo owner has already taken those
    down (`generations_withdraw_consent`).

    Teen rule: a viewer under 18 (or of unknown age) does not see the published videos of an adult they do
    not follow each other with that feature a minor's cameo (a minor's own appearance stays theirs to see).
    So every list, share page and signed media link built on this rule follows it."""
    live = Generation.objects.filter(deleted_at__isnull=True)
    if viewer is None or not viewer.is_authenticated:
        return live.filter(_is_up() & _published_audience_admits(viewer))
    # The videos showing a cameo owner blocked either way: found from the blocks (the owner index), once.
    shows_a_blocked_owner = Q(
        pk__in=GenerationCameo.objects.filter(_blocked_with(viewer, "owner")).values("generation")
    )
    appearance = Exists(GenerationCameo.objects.filter(generation=OuterRef("pk"), owner=viewer))
    published = _is_up() & ~_blocked_with(viewer, "requester") & _published_audience_admits(viewer)
    if viewer.is_minor:
        published &= ~_adult_stranger_shows_a_minor(viewer)
    return live.filter(Q(requester=viewer) | (~shows_a_blocked_owner & (appearance | published)))


def published_generations_visible_to(viewer: Any) -> QuerySet[Generation]:
    """The published videos still up that `viewer` may see: what feeds and share pages list."""
    return generations_visible_to(viewer).filter(_is_up())


def generation_get_visible(*, viewer: Any, generation_id: int) -> Generation:
    """A generation `viewer` may see (`generations_visible_to`), else "not found", so nobody learns that a
    draft exists or that a block hides it."""
    generation = (
        generations_visible_to(viewer)
        .select_related("requester", "remix_of__requester")
        .filter(pk=generation_id)
        .first()
    )
    if generation is None:
        raise ApplicationError(
            GenerationError.GENERATION_NOT_FOUND,
            f"No generation {generation_id} that you can see.",
            status=404,
        )
    return generation


def generation_get_for_maker(*, viewer: Any, generation_id: int) -> Generation:
    """A generation with how it was made (its prompt, spec, job state, engine), for those who may know it:
    its requester, and the owner of a cameo in it (their likeness, so their right to see how it was used),
    within `generations_visible_to`. Anyone else, a published video's viewers included, gets "not found"
    here: a published video is shown to them as a post (`/posts/{id}/`), which carries only what its
    creator chose to publish."""
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else None
    generation = (
        generations_visible_to(viewer)
        .filter(Q(requester_id=viewer_id) | Q(cameo_uses__owner_id=viewer_id))
        .select_related("requester", "remix_of__requester")
        .filter(pk=generation_id)
        .distinct()
        .first()
    )
    if generation is None:
        raise ApplicationError(
            GenerationError.GENERATION_NOT_FOUND,
            f"No generation {generation_id} of yours or with your cameo.",
            status=404,
        )
    return generation


# The moderator permission, named and not imported: moderation sits above this app.
_MODERATE = "moderation.moderate"

# (published generation, viewer who is neither its requester nor a cameo owner in it) -> may they play it?
PublishedAudience = Callable[[Generation, Any], bool]
_published_audiences: list[PublishedAudience] = []


def register_published_audience(check: PublishedAudience) -> None:
    """A higher app narrows who may play a published video (the feed: the post's audience, mutes, a removed
    tag, adults only), in its `AppConfig.ready`. Asked by `generation_media_playable_by`, so the links
    handed out and the signed media route's guard agree (`register_published_audience_rule` narrows the
    lists the same way)."""
    if check not in _published_audiences:
        _published_audiences.append(check)


def generation_media_playable_by(
    *, generation: Generation, viewer: Any, audience_admits: bool = False
) -> bool:
    """Whether `viewer`, who may see this generation, may play its media: a finished, checked, not
    taken-down result, played by its requester and the owners of the cameos in it; once published by
    moderators (who review reports of any post) and by whoever every registered published audience admits;
    held or blocked videos by moderators only; a moderator also plays a draft a case is about (the
    permission is asked last, so other viewers' reads cost no permission query). `audience_admits`: the caller read `generation` through a rule that already admits `viewer`
    (the feed's `posts_visible_to`), so the registered audiences need not be asked again (a query a row)."""
    if not generation.video or generation.removed_at is not None or generation.deleted_at is not None:
        return False
    if generation.status in (GenerationStatus.BLOCKED, GenerationStatus.NEEDS_REVIEW):
        return bool(viewer.has_perm(_MODERATE))
    if generation.status != GenerationStatus.SUCCEEDED:
        return False
    if generation.requester_id == viewer.pk:
        return True
    published = generation.published_at is not None
    if published and (audience_admits or all(admits(generation, viewer) for admits in _published_audiences)):
        return True
    if any(use.owner_id == viewer.pk for use in generation.cameo_uses.all()):
        return True
    return bool(viewer.has_perm(_MODERATE))


def generation_frame_size(*, generation: Generation) -> tuple[int, int] | None:
    """(width, height) of a finished video: the size its spec asked for, to which the engine conforms every
    render (`ml.generate.output_size`). None for a spec without one."""
    try:
        return frame_size(Resolution(generation.spec["resolution"]), Aspect(generation.spec["aspect"]))
    except (KeyError, TypeError, ValueError):
        return None


def generation_for_media(*, viewer: Any, name: str) -> Generation | None:
    """The generation whose video or poster is stored under `name`, if `viewer` may play it now: what the
    signed media route asks before it serves a byte (a link handed out earlier is no grant). A moderator
    reviewing a case also reaches a video nobody has published, or one a block hides from them."""
    stored_as = Q(video=name) | Q(poster=name)
    generation = generations_visible_to(viewer).filter(stored_as).prefetch_related("cameo_uses").first()
    if generation is None and viewer.has_perm(_MODERATE):
        generation = Generation.objects.filter(stored_as, deleted_at__isnull=True).first()
    if generation is None or not generation_media_playable_by(generation=generation, viewer=viewer):
        return None
    return generation


def remix_source_get(*, viewer: User, generation_id: int) -> Generation:
    """The published video a remix starts from: up, and visible to `viewer` (no block with its requester or
    with any cameo owner in it)."""
    source = (
        published_generations_visible_to(viewer).select_related("requester").filter(pk=generation_id).first()
    )
    if source is None:
        raise ApplicationError(
            GenerationError.REMIX_SOURCE_NOT_FOUND,
            f"No published video {generation_id} that you can remix.",
            status=404,
        )
    return source


def generations_of_requester(*, requester: User, status: str | None = None) -> QuerySet[Generation]:
    """The requester's own videos, drafts and published, newest first (deleted ones are gone)."""
    generations = Generation.objects.filter(requester=requester, deleted_at__isnull=True)
    generations = generations.select_related("remix_of__requester").prefetch_related("cameo_uses__owner")
    return (generations.filter(status=status) if status else generations).order_by("-id")


def appearances_of_cameo(*, owner: User, cameo_id: int) -> QuerySet[Generation]:
    """Every generation that used this cameo, drafts by other people included, and those taken down or
    deleted by their requester since: its owner sees them all."""
    cameo = cameo_get_owned(owner=owner, cameo_id=cameo_id)
    return Generation.objects.filter(cameo_uses__cameo=cameo).select_related("requester").order_by("-id")


def appearances_of_owner(*, owner: User) -> QuerySet[Generation]:
    """Every generation that used any cameo of `owner`, those of cameos deleted and erased since included
    (the appearance record outlives the likeness)."""
    uses = GenerationCameo.objects.filter(generation=OuterRef("pk"), owner=owner)
    return Generation.objects.filter(Exists(uses)).select_related("requester").order_by("-id")


def generation_consent_refusals(*, generation: Generation) -> list[ApplicationError]:
    """Why each cameo in `generation` may not be used by its requester now (empty when all may). The job
    runner asks this when it starts and before it stores a result; publishing asks it too."""
    refusals = []
    for use in generation.cameo_uses.select_related("cameo__owner"):
        if use.cameo is None:
            refusals.append(
                ApplicationError(
                    CameoError.CAMEO_NOT_FOUND, f"@{use.handle}'s cameo no longer exists.", status=404
                )
            )
            continue
        refusal = cameo_use_refusal(user=generation.requester, cameo=use.cameo)
        if refusal is not None:
            refusals.append(refusal)
    return refusals


def generation_is_publishable(*, generation: Generation) -> bool:
    return (
        generation.status == GenerationStatus.SUCCEEDED
        and generation.removed_at is None
        and generation.deleted_at is None
        and not generation_consent_refusals(generation=generation)
    )
