"""What every viewer sees of a post (its card), kept in the cache for a short while.

A For You or Following page names its posts by id once the visibility rule (`feed.visible_ids`) has let
them through; what it shows of each is the same for every viewer but the signed media links. Reading 20
posts with their author, post row and cameo uses and turning them into JSON was most of such a page's
Python time (bench/RESULTS.md), so the cards (`card`: the post's public fields and the names of its
files) are kept in the cache (Redis) for `FEED_POST_CARD_TTL_S`, and a page reads them in one round trip,
making those not kept from two queries of plain rows (`feed.selectors.post_card_rows`). Visibility is never cached: the rule is asked at
every page, so a block, a take-down or a private post is hidden at once. Freshness: every write the feed
makes to a post (likes, comments, shares, caption and audience, publish, a remix of it published) drops
its card (`post_cards_forget`); views (a popular post's card would never stay kept), an author's new
display name and a remix taken down show within `FEED_POST_CARD_TTL_S`."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from rest_framework.fields import DateTimeField

from feed.selectors import CARD_COLUMNS, post_card_rows
from generation.models import Generation

# Bumped when a card's fields change, so that a deploy never reads the previous shape.
_VERSION = 1

Card = dict[str, Any]
CameoUse = tuple[int, str, str]  # (use id, the @handle the prompt named, its owner's username)

_TIME = DateTimeField()  # PostSerializer's `published_at`, formatted the same way


def formatted_time(value: datetime | None) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def cameo_tags(cameo_uses: Iterable[CameoUse]) -> list[dict[str, str]]:
    """A post's cameos as it shows them, in the order the video's uses were made."""
    return [{"mention": "@" + handle, "owner": owner} for _, handle, owner in sorted(cameo_uses)]


def card(
    *,
    post_id: int,
    author: str,
    author_display_name: str,
    caption: str,
    hashtags: list[str],
    mentions: list[str],
    visibility: str,
    comments_enabled: bool,
    like_count: int,
    comment_count: int,
    view_count: int,
    remix_count: int,
    share_count: int,
    cameo_uses: Iterable[CameoUse],
    remix_of: int | None,
    status: str,
    published_at: datetime | None,
    video: str | None,
    poster: str | None,
) -> Card:
    """What every viewer who may see a post sees of it (`feed.apis.PostSerializer`'s fields but the media
    links), and under `media` the storage names of its video and poster, which the links are signed for
    per viewer (never sent as they are)."""
    return {
        "id": post_id,
        "author": author,
        "author_display_name": author_display_name,
        "caption": caption,
        "hashtags": [str(tag) for tag in hashtags],
        "mentions": [str(name) for name in mentions],
        "visibility": str(visibility),
        "comments_enabled": comments_enabled,
        "like_count": like_count,
        "comment_count": comment_count,
        "view_count": view_count,
        "remix_count": remix_count,
        "share_count": share_count,
        "cameos": cameo_tags(cameo_uses),
        "remix_of": remix_of,
        "status": str(status),
        "published_at": formatted_time(published_at),
        "media": (video or "", poster or ""),
    }


def post_card(generation: Generation) -> Card:
    """`generation`'s card, from the post as read with `feed.selectors.with_everything_a_page_shows`."""
    post, author = generation.post, generation.requester
    return card(
        post_id=generation.pk,
        author=author.username,
        author_display_name=author.display_name,
        caption=post.caption,
        hashtags=post.hashtags,
        mentions=post.mentions,
        visibility=post.visibility,
        comments_enabled=post.comments_enabled,
        like_count=post.like_count,
        comment_count=post.comment_count,
        view_count=post.view_count,
        remix_count=generation.remix_count,  # the page query's annotation
        share_count=post.share_count,
        cameo_uses=[(use.pk, use.handle, use.owner.username) for use in generation.cameo_uses.all()],
        remix_of=generation.remix_of_id,
        status=generation.status,
        published_at=generation.published_at,
        video=generation.video.name if generation.video else "",
        poster=generation.poster.name if generation.poster else "",
    )


def _cards_read(post_ids: Sequence[int]) -> list[Card]:
    rows, uses = post_card_rows(post_ids=post_ids)
    uses_of: dict[int, list[CameoUse]] = {}
    for post_id, use_id, handle, owner in uses:
        uses_of.setdefault(post_id, []).append((use_id, handle, owner))
    made = []
    for row in rows:
        values = dict(zip(CARD_COLUMNS, row, strict=True))
        made.append(
            card(
                post_id=values["pk"],
                author=values["requester__username"],
                author_display_name=values["requester__display_name"],
                caption=values["post__caption"],
                hashtags=values["post__hashtags"],
                mentions=values["post__mentions"],
                visibility=values["post__visibility"],
                comments_enabled=values["post__comments_enabled"],
                like_count=values["post__like_count"],
                comment_count=values["post__comment_count"],
                view_count=values["post__view_count"],
                remix_count=values["remix_count"],
                share_count=values["post__share_count"],
                cameo_uses=uses_of.get(values["pk"], ()),
                remix_of=values["remix_of_id"],
                status=values["status"],
                published_at=values["published_at"],
                video=values["video"],
                poster=values["poster"],
            )
        )
    return made


def _key(post_id: int) -> str:
    return f"feed:card:v{_VERSION}:{post_id}"


def post_cards(*, post_ids: Sequence[int]) -> list[Card]:
    """The cards of `post_ids`, in their order (one cache round trip, and two queries of plain rows for
    those not kept). Only for ids the viewer may see (asked of the rule just before). A post that no
    longer exists is left out."""
    keys = [_key(post_id) for post_id in post_ids]
    found: dict[str, Card] = cache.get_many(keys)
    missing = [post_id for post_id, key in zip(post_ids, keys, strict=True) if key not in found]
    if missing:
        made = {_key(made["id"]): made for made in _cards_read(missing)}
        cache.set_many(made, timeout=settings.FEED_POST_CARD_TTL_S)
        found.update(made)
    return [found[key] for key in keys if key in found]


def post_cards_forget(*, post_ids: Iterable[int]) -> None:
    """Drop the cards of `post_ids` now and again once the write commits (a page read in between would
    otherwise keep the card as it was before the write)."""
    keys = [_key(post_id) for post_id in post_ids]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
