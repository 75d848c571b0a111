from django.db.models import QuerySet

from accounts.models import User
from cameos.selectors import cameo_get_owned, cameo_use_refusal
from core.exceptions import ApplicationError
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
                ApplicationError("cameo_not_found", f"@{use.handle}'s cameo no longer exists.", status=404)
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
