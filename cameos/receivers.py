"""The cameos app's reactions to the accounts app's hooks (accounts cannot import cameos): connected in
`CameosConfig.ready`."""

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import user_erasure_requested
from cameos.services import cameo_delete, cameo_erase, owner_uploads_discard


@receiver(user_erasure_requested, dispatch_uid="cameos.erase_likeness_of_user")
def erase_likeness_of_user(sender: Any, *, user: User, **kwargs: Any) -> None:
    """Every cameo of an erased account is deleted and erased (its videos come down through
    `cameo_withdrawn`), and its pending uploads and challenges go. Idempotent, like the erasure job."""
    for cameo in list(user.cameos.all()):
        cameo_delete(cameo=cameo, reason="account_deleted")
        cameo_erase(cameo_id=cameo.pk)
    owner_uploads_discard(owner=user)
