"""The generation app's reactions to the lower apps' hooks: every way a requester can lose the right to use
a cameo ends in `generations_withdraw_consent`, which decides with the one consent rule who lost it.
Connected in `GenerationConfig.ready`; each runs inside the transaction of the change that fired it."""

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import follow_removed, user_blocked, user_deactivated
from cameos.models import Cameo
from cameos.signals import cameo_consent_narrowed, cameo_withdrawn
from generation.services import generations_withdraw_consent


@receiver(cameo_consent_narrowed, dispatch_uid="generation.withdraw_on_narrowed_consent")
def withdraw_on_narrowed_consent(sender: Any, *, cameo: Cameo, requester: User | None, **kwargs: Any) -> None:
    generations_withdraw_consent(cameo_id=cameo.pk, requester_id=None if requester is None else requester.pk)


@receiver(cameo_withdrawn, dispatch_uid="generation.withdraw_on_cameo_withdrawn")
def withdraw_on_cameo_withdrawn(sender: Any, *, cameo_id: int, **kwargs: Any) -> None:
    generations_withdraw_consent(cameo_id=cameo_id)


@receiver(user_blocked, dispatch_uid="generation.withdraw_on_block")
def withdraw_on_block(sender: Any, *, blocker: User, blocked: User, **kwargs: Any) -> None:
    """A block forbids cameo use in both directions."""
    generations_withdraw_consent(owner_id=blocker.pk, requester_id=blocked.pk)
    generations_withdraw_consent(owner_id=blocked.pk, requester_id=blocker.pk)


@receiver(follow_removed, dispatch_uid="generation.withdraw_on_unfollow")
def withdraw_on_unfollow(sender: Any, *, follower: User, followee: User, **kwargs: Any) -> None:
    """No longer mutuals: a "mutuals" permission between the two may have ended, either way."""
    generations_withdraw_consent(owner_id=follower.pk, requester_id=followee.pk)
    generations_withdraw_consent(owner_id=followee.pk, requester_id=follower.pk)


@receiver(user_deactivated, dispatch_uid="generation.withdraw_on_deactivation")
def withdraw_on_deactivation(sender: Any, *, user: User, **kwargs: Any) -> None:
    """Nothing of a deactivated account's likeness stays up, whoever made the video."""
    generations_withdraw_consent(owner_id=user.pk)
