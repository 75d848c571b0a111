"""Reads of the For You feed: the viewer's signals, the candidates, and a page of the ranked snapshot.

Candidates are gathered on read from four bounded sources, each one indexed query, and the one visibility
rule (`feed.selectors.posts_visible_to`) is then asked once about their union, leaving out the viewer's own
posts and the posts they have watched (a `PostView`):

- the recent posts of the people the viewer follows (`FOLLOWED_LIMIT`, published in `RECENT_DAYS`);
- recent posts featuring a cameo of the viewer's mutuals (`MUTUAL_CAMEOS_LIMIT`);
- popular posts among the newest `POPULAR_WINDOW` published (`POPULAR_LIMIT`, by reactions; the same for
  every viewer, so kept in the cache for `POPULAR_TTL_S`);
- with a steering text, the posts nearest its "more" terms among the newest `STEERING_POOL` with a vector
  (`STEERING_LIMIT`).

So a fresh ranking reads at most about 1,400 candidate ids by index, asks the visibility rule once about
them all, and scores what passes, whatever the size of the site, in a fixed number of queries
(`for_you_ranking`). The ranking is kept (`feed.ranking.snapshot`), so a first page within minutes of the last
and every later page read only their own posts (`ranked_page`)."""

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from django.core.cache import cache
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.models import Follow, User
from core.db import RowsOfIds
from feed.models import Comment, FeedSteering, Like, PostView, SeeLess
from feed.ranking import score
from feed.selectors import remix_count
from feed.visible_ids import visible_post_ids
from generation.models import Generation, GenerationCameo

RECENT_DAYS = 14
FOLLOWED_LIMIT = 300
MUTUAL_CAMEOS_LIMIT = 100
POPULAR_WINDOW = 5000
POPULAR_LIMIT = 200
POPULAR_TTL_S = 60
POPULAR_CACHE_KEY = "feed:for-you:popular:v1"
STEERING_POOL = 1000
STEERING_LIMIT = 100
# The viewer's latest follows, interactions (each kind) and "see less" marks that ranking reads.
FOLLOWS_READ = 5000
INTERACTIONS_READ = 300
SEE_LESS_READ = 50
# Weights of one interaction with an author's post, for affinity.
LIKE_WEIGHT, COMMENT_WEIGHT, VIEW_WEIGHT = 1.0, 2.0, 0.5


def viewer_signals(*, viewer: User) -> score.ViewerSignals:
    """What ranking knows of `viewer`: whom they follow, how much they interact with each author (their
    latest likes, comments and views), their steering vectors, their "see less" marks. Five queries."""
    followed = frozenset(
        Follow.objects.filter(follower=viewer)
        .order_by("-pk")
        .values_list("followee_id", flat=True)[:FOLLOWS_READ]
    )
    interactions: dict[int, float] = {}
    for model, user_field, weight in (
        (Like, "user", LIKE_WEIGHT),
        (Comment, "author", COMMENT_WEIGHT),
        (PostView, "viewer", VIEW_WEIGHT),
    ):
        authors = (
            model.objects.filter(**{user_field: viewer})
            .order_by("-pk")
            .values_list("post__generation__requester_id", flat=True)[:INTERACTIONS_READ]
        )
        for author_id in authors:
            interactions[author_id] = interactions.get(author_id, 0.0) + weight
    interactions.pop(viewer.pk, None)
    steering = FeedSteering.objects.filter(user=viewer).first()
    if steering is None or not steering.is_embedded:  # still being embedded: no steering term yet
        steering = FeedSteering()
    marks = list(
        SeeLess.objects.filter(user=viewer)
        .order_by("-created_at", "-pk")
        .values_list("post_id", "author_id", "hashtags", "post__embedding__vector")[:SEE_LESS_READ]
    )
    vectors = [bytes(vector) for *_, vector in marks if vector]
    return score.ViewerSignals(
        followed=followed,
        interactions=interactions,
        steer_more=score.unpack_vectors(steering.more_vectors),
        steer_less=score.unpack_vectors(steering.less_vectors),
        see_less_posts=frozenset(post_id for post_id, *_ in marks),
        see_less_authors=dict(Counter(author_id for _, author_id, *_ in marks)),
        see_less_hashtags=frozenset(tag for _, _, hashtags, _ in marks for tag in hashtags or ()),
        see_less_vectors=score.unpack_vectors(b"".join(vectors)),
    )


def _popular_now() -> list[int]:
    live = Generation.objects.filter(
        published_at__isnull=False, removed_at__isnull=True, deleted_at__isnull=True
    )
    newest = live.order_by("-published_at").values("pk")
    popular = Generation.objects.filter(pk__in=newest[:POPULAR_WINDOW]).order_by(
        (F("post__like_count") + 2 * F("post__comment_count") + F("post__view_count") / 10).desc(),
        "-published_at",
    )
    return list(popular.values_list("pk", flat=True)[: 2 * POPULAR_LIMIT])


def popular_post_ids() -> list[int]:
    """The most reacted-to of the newest `POPULAR_WINDOW` posts: the same for every viewer, so sorted once
    per `POPULAR_TTL_S` and kept in the cache (it was the costliest candidate query, ~20 ms at 1M posts).
    Who may see which of them is decided per viewer afterwards, with the other sources' ids."""
    ids: list[int] = cache.get_or_set(POPULAR_CACHE_KEY, _popular_now, timeout=POPULAR_TTL_S)
    return ids


def candidate_ids(*, viewer: User, signals: score.ViewerSignals) -> set[int]:
    """The union of the candidate sources (`candidate_pool`), then the one visibility rule over that union,
    leaving out the viewer's own and the seen: asked of 5,000 newest posts the rule was most of a first
    page's time at a million posts, asked of the at most ~1,400 ids of the pool it is one query."""
    return visible_post_ids(
        viewer=viewer, post_ids=candidate_pool(viewer=viewer, signals=signals), unseen=True
    )


def candidate_pool(*, viewer: User, signals: score.ViewerSignals) -> list[int]:
    """The ids of the candidate sources (module docstring), before the visibility rule. Each source reads
    published, live posts by an index alone and takes twice its limit, so that what the rule then leaves
    out rarely leaves a source short. Three queries, four with steering (one more while the popular list
    is not cached)."""
    live = Generation.objects.filter(
        published_at__isnull=False, removed_at__isnull=True, deleted_at__isnull=True
    ).exclude(requester=viewer)
    recent = live.filter(published_at__gte=timezone.now() - timedelta(days=RECENT_DAYS))
    follows = Follow.objects.filter(follower=viewer)
    mutuals = follows.filter(
        Exists(Follow.objects.filter(follower=OuterRef("followee"), followee=viewer))
    ).values("followee")
    followed = recent.filter(requester__in=follows.values("followee")).order_by("-published_at")
    with_mutuals = recent.filter(
        pk__in=GenerationCameo.objects.filter(owner__in=mutuals).values("generation_id")
    ).order_by("-published_at")
    ids = set(followed.values_list("pk", flat=True)[: 2 * FOLLOWED_LIMIT])
    ids.update(with_mutuals.values_list("pk", flat=True)[: 2 * MUTUAL_CAMEOS_LIMIT])
    ids.update(popular_post_ids())
    if len(signals.steer_more):
        pool = list(
            live.filter(post__embedding__isnull=False)
            .order_by("-published_at")
            .values_list("pk", "post__embedding__vector")[:STEERING_POOL]
        )
        if pool:
            vectors = score.unpack_vectors(b"".join(bytes(vector) for _, vector in pool))  # (n, D)
            nearest = (vectors @ signals.steer_more.T).max(axis=1)  # (n,)
            ids.update(pool[i][0] for i in np.argsort(-nearest)[: 2 * STEERING_LIMIT])
    return list(ids)


_FEATURE_COLUMNS = (
    "pk", "requester_id", "published_at", "post__like_count", "post__comment_count", "remix_count",
    "post__view_count", "post__watch_ms", "post__duration_ms",
)  # fmt: skip


def _feature_rows(*more_columns: str) -> RowsOfIds:
    return RowsOfIds(
        lambda: Generation.objects.annotate(remix_count=remix_count()).values_list(
            *_FEATURE_COLUMNS, *more_columns
        ),
        id_column="pk",
    )


_FEATURES = _feature_rows()
_FEATURES_WITH_TOPICS = _feature_rows("post__hashtags", "post__embedding__vector")
_CAMEO_OWNERS = RowsOfIds(
    lambda: GenerationCameo.objects.order_by().values_list("generation_id", "owner_id"),
    id_column="generation_id",
)


def candidates(
    *, signals: score.ViewerSignals, post_ids: set[int], with_topics: bool
) -> list[score.Candidate]:
    """What the score reads of each candidate, and who owns the cameos in it (for the boost when one is
    someone the viewer follows), in two queries whose SQL is built once (`core.db.RowsOfIds`: compiled per
    call, they were a third of a fresh ranking's Python). Their topics (hashtags and vectors) only
    `with_topics`: a viewer without steering or "see less" has no term that reads them, and at 1.5 kB a
    post the vectors were most of what the query carried, the hashtags' JSON a sixth of its Python."""
    if not post_ids:
        return []
    ids = list(post_ids)
    rows = (_FEATURES_WITH_TOPICS if with_topics else _FEATURES).rows(ids)
    followed_cameo = {
        post_id for post_id, owner_id in _CAMEO_OWNERS.rows(ids) if owner_id in signals.followed
    }
    return [
        score.Candidate(
            post_id=pk,
            author_id=author_id,
            published_at=published_at,
            likes=likes,
            comments=comments,
            remixes=remixes,
            views=views,
            watch_ms=watch_ms,
            duration_ms=duration_ms,
            hashtags=tuple(topics[0] or ()) if topics else (),
            features_followed_cameo=pk in followed_cameo,
            vector=score.unpack_vectors(topics[1])[0] if topics and topics[1] else None,
        )
        for (
            pk,
            author_id,
            published_at,
            likes,
            comments,
            remixes,
            views,
            watch_ms,
            duration_ms,
            *topics,
        ) in rows
    ]


def for_you_ranking(*, viewer: User) -> list[int]:
    """A fresh ranking of `viewer`'s For You: post ids, best first, authors spread out."""
    signals = viewer_signals(viewer=viewer)
    with_topics = bool(
        len(signals.steer_more)
        or len(signals.steer_less)
        or len(signals.see_less_vectors)
        or signals.see_less_hashtags
    )
    found = candidates(
        signals=signals, post_ids=candidate_ids(viewer=viewer, signals=signals), with_topics=with_topics
    )
    return score.rank(found, signals, timezone.now())


def ranked_page(*, viewer: User, post_ids: Sequence[int], offset: int, size: int) -> tuple[list[int], int]:
    """Up to `size` ids of `post_ids` (a kept ranking) from `offset` on that `viewer` may see and has not
    watched, in ranked order, and the offset after the last one taken. A post hidden or watched since the
    ranking is skipped and the next one takes its place (up to `size` of them), so pages stay full. One
    query: the rule over the window's ids."""
    window = list(post_ids[offset : offset + 2 * size])
    visible = visible_post_ids(viewer=viewer, post_ids=window, unseen=True)
    taken: list[int] = []
    consumed = offset
    for post_id in window:
        if len(taken) == size:
            break
        consumed += 1
        if post_id in visible:
            taken.append(post_id)
    return taken, consumed
