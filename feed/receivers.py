"""The feed's reactions to the lower apps' hooks: a published video gets its post, and what happens to people,
cameos and videos becomes notifications. Connected in `FeedConfig.ready`; each runs inside the transaction
of the change that fired it, so a notification commits or rolls back with its cause."""

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import follow_created
from cameos.models import CameoAccessRequest
from cameos.signals import cameo_access_granted, cameo_access_requested
from feed.notifications.services import (
    notify_access_granted,
    notify_access_requested,
    notify_cameo_used_in_draft,
    notify_cameo_used_in_post,
    notify_follow,
)
from feed.services import post_ensure
from generation.models import Generation
from generation.signals import generation_publishing, generation_succeeded


@receiver(generation_publishing, dispatch_uid="feed.post_on_publish")
def post_on_publish(sender: Any, *, generation: Generation, **kwargs: Any) -> None:
    post_ensure(generation=generation)
    notify_cameo_used_in_post(generation=generation)


@receiver(generation_succeeded, dispatch_uid="feed.notify_cameo_used_in_draft")
def cameo_used_in_draft(sender: Any, *, generation: Generation, **kwargs: Any) -> None:
    notify_cameo_used_in_draft(generation=generation)


@receiver(cameo_access_requested, dispatch_uid="feed.notify_access_requested")
def access_requested(sender: Any, *, request: CameoAccessRequest, **kwargs: Any) -> None:
    notify_access_requested(request=request)


@receiver(cameo_access_granted, dispatch_uid="feed.notify_access_granted")
def access_granted(sender: Any, *, request: CameoAccessRequest, **kwargs: Any) -> None:
    notify_access_granted(request=request)


@receiver(follow_created, dispatch_uid="feed.notify_follow")
def followed(sender: Any, *, follower: User, followee: User, **kwargs: Any) -> None:
    notify_follow(follower=follower, followee=followee)
