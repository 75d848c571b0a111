"""Signed links to a cameo's recording and reference image reach its owner only: asked again at every
request (`core.signed_media`), so a link stops working once the cameo is deleted or the account is gone."""

from django.db.models import Q

from cameos.models import Cameo
from core.signed_media import register_media_guard


def owner_may_have(name: str, viewer_id: int | None) -> bool:
    if viewer_id is None:
        return False
    return Cameo.objects.filter(
        Q(recording=name) | Q(reference_image=name), owner_id=viewer_id, owner__is_active=True
    ).exists()


def register() -> None:
    register_media_guard("cameos/", owner_may_have)
