"""What every viewer sees of a post (its card), kept in the cache for a short while.

A For You or Following page names its posts by id once the visibility rule (`feed.visible_ids`) has let
them through; what it shows of each is the same for every viewer but the signed media links. Reading 20
posts with their author, post row and cameo uses and turning them into JSON was most of such a page's
Python time (bench/RESULTS.md), so the cards (`feed.apis.post_card`: the post's public fields and the names
of its files) are kept in the cache (Redis) for `FEED_POST_CARD_TTL_S`, and a page reads them in one round
trip, going to the database only for those not kept. Visibility is never cached: the rule is asked at
every page, so a block, a take-down or a private post is hidden at once. Freshness: every write the feed
makes to a post (likes, comments, shares, views, caption and audience, publish, unpublish, tag removal,
age restriction) drops its card (`post_cards_forget`); what changes elsewhere (an author's display name,
a remix published or taken down, counted in `remix_count`) shows within `FEED_POST_CARD_TTL_S`."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from feed.selectors import posts_for_page
from generation.models import Generation

# Bumped when a card's fields change, so that a deploy never reads the previous shape.
_VERSION = 1

Card = dict[str, Any]


def _key(post_id: int) -> str:
    return f"feed:card:v{_VERSION}:{post_id}"


def post_cards(*, post_ids: Sequence[int], build: Callable[[Generation], Card]) -> list[Card]:
    """The cards of `post_ids`, in their order, each `build` of the post for those not kept yet (one cache
    round trip, and a page query and its prefetch for the missing). Only for ids the viewer may see (asked
    of the rule just before). A post that no longer exists is left out."""
    keys = [_key(post_id) for post_id in post_ids]
    found: dict[str, Card] = cache.get_many(keys)
    missing = [post_id for post_id, key in zip(post_ids, keys, strict=True) if key not in found]
    if missing:
        made = {_key(post.pk): build(post) for post in posts_for_page(post_ids=missing)}
        cache.set_many(made, timeout=settings.FEED_POST_CARD_TTL_S)
        found.update(made)
    return [found[key] for key in keys if key in found]


def post_cards_forget(*, post_ids: Iterable[int]) -> None:
    """Drop the cards of `post_ids` now and again once the write commits (a page read in between would
    otherwise keep the card as it was before the write)."""
    keys = [_key(post_id) for post_id in post_ids]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
