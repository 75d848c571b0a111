"""Who generation shows a published video to, as the feed sees it, registered with generation (which may
not import the feed) when the app is ready:

- its media: the generation app's rule narrowed by the post (its audience, mutes, a removed tag, adults
  only), through the one `posts_visible_to` (`register_published_audience`), so the links the APIs and
  pages hand out and the signed media route's guard (asked at every request) agree with the feed;
- every list and read of generations: a post marked for adults only is hidden from minors, people of
  unknown age and anonymous visitors wherever a video is shown, not only in feeds
  (`register_published_audience_rule`)."""

from typing import Any

from feed.selectors import adults_only_admits, posts_visible_to
from generation.models import Generation
from generation.selectors import register_published_audience, register_published_audience_rule


def post_audience_admits(generation: Generation, viewer: Any) -> bool:
    return posts_visible_to(viewer).filter(pk=generation.pk).exists()


def register() -> None:
    register_published_audience(post_audience_admits)
    register_published_audience_rule(adults_only_admits)
