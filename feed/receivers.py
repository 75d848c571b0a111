"""The feed's reactions to the generation app's hooks. Connected in `FeedConfig.ready`; each runs inside the
transaction of the change that fired it."""

from typing import Any

from django.dispatch import receiver

from feed.services import post_ensure
from generation.models import Generation
from generation.signals import generation_publishing


@receiver(generation_publishing, dispatch_uid="feed.post_on_publish")
def post_on_publish(sender: Any, *, generation: Generation, **kwargs: Any) -> None:
    post_ensure(generation=generation)
