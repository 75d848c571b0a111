"""Who may play a published video's media, as the feed sees it: the generation app's rule narrowed by the
post (its audience, mutes, a removed tag, adults only), through the one `posts_visible_to`. Registered with
`generation.selectors.register_published_audience`, so the links the APIs and pages hand out and the
signed media route's guard (asked at every request) agree with the feed."""

from typing import Any

from feed.selectors import posts_visible_to
from generation.models import Generation
from generation.selectors import register_published_audience


def post_audience_admits(generation: Generation, viewer: Any) -> bool:
    return posts_visible_to(viewer).filter(pk=generation.pk).exists()


def register() -> None:
    register_published_audience(post_audience_admits)
