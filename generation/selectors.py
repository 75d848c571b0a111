from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import is_blocked_between
from cameos.errors import CameoError
from cameos.selectors import cameo_get_owned, cameo_use_refusal
from core.exceptions import ApplicationError
from generation.errors import GenerationError
from generation.models import Generation, GenerationStatus


def appearances_of_cameo(*, owner: User, cameo_id: int) -> QuerySet[Generation]:
    """Every generation that used this cameo, drafts by other people included: its owner sees them all."""
    cameo = cameo_get_owned(owner=owner, cameo_id=cameo_id)
    return Generation.objects.filter(cameo_uses__cameo=cameo).select_related("requester").order_by("-id")


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
        and not generation_consent_refusals(generation=generation)
    )


def published_generations() -> QuerySet[Generation]:
    return Generation.objects.filter(
        published_at__isnull=False,
        removed_at__isnull=True,
        status=GenerationStatus.SUCCEEDED,
        requester__is_active=True,
    )


def generation_get_visible(*, viewer: User, generation_id: int) -> Generation:
    """A generation `viewer` may see: their own (any state), one that uses their cameo (their appearance,
    drafts included), or a published one by someone not blocked either way. Otherwise "not found", so
    nobody learns that a draft exists."""
    generation = (
        Generation.objects.select_related("requester", "remix_of__requester").filter(pk=generation_id).first()
    )
    not_found = ApplicationError(
        GenerationError.GENERATION_NOT_FOUND, f"No generation {generation_id} that you can see.", status=404
    )
    if generation is None:
        raise not_found
    if generation.requester_id == viewer.pk or generation.cameo_uses.filter(owner=viewer).exists():
        return generation
    if published_generations().filter(pk=generation.pk).exists() and not is_blocked_between(
        viewer, generation.requester
    ):
        return generation
    raise not_found


def remix_source_get(*, viewer: User, generation_id: int) -> Generation:
    """The published video a remix starts from: visible to `viewer`, still up, and not taken down."""
    source = published_generations().select_related("requester").filter(pk=generation_id).first()
    if source is None or is_blocked_between(viewer, source.requester):
        raise ApplicationError(
            GenerationError.REMIX_SOURCE_NOT_FOUND,
            f"No published video {generation_id} that you can remix.",
            status=404,
        )
    return source


def generations_of_requester(*, requester: User, status: str | None = None) -> QuerySet[Generation]:
    """The requester's own videos, drafts and published, newest first."""
    generations = Generation.objects.filter(requester=requester).select_related("remix_of__requester")
    generations = generations.prefetch_related("cameo_uses__owner")
    return (generations.filter(status=status) if status else generations).order_by("-id")
