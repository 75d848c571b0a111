"""Reads of the feed.

Who sees a post is decided in one place, `posts_visible_to(viewer)`, built on the generation app's one rule
for who sees a video (`generation.selectors.published_generations_visible_to`: published and up, no block
either way with the author or with any cameo owner in it). On top of it this module adds only what the feed
knows: the post's audience (public / followers / mutuals / private), a removed cameo tag, and the viewer's
mutes, of the author and of every cameo owner in the video. Every feed and every read of a single post is
built on it, and moderation hooks its removals into it. It stays one SQL query whatever the page size:
follows and mutes are `EXISTS` subqueries."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Block, Follow, Mute, User
from accounts.selectors import is_adult_q, mutuals_with_q, user_get_visible
from cameos.selectors import cameo_get_visible
from core.db import RowsOfIds
from core.exceptions import ApplicationError
from feed.errors import FeedError
from feed.models import Comment, PostVisibility
from generation.models import Generation, GenerationCameo
from generation.selectors import published_generations_visible_to


def _audience_admits(viewer: Any) -> Q:
    """The post's visibility lets `viewer` in (the author always)."""
    if viewer is None or not viewer.is_authenticated:
        return Q(post__visibility=PostVisibility.PUBLIC)
    follows_author = Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("requester")))
    followed_back = Exists(Follow.objects.filter(follower=OuterRef("requester"), followee=viewer))
    return (
        Q(requester=viewer)
        | Q(post__visibility=PostVisibility.PUBLIC)
        | (Q(post__visibility=PostVisibility.FOLLOWERS) & follows_author)
        | (Q(post__visibility=PostVisibility.MUTUALS) & follows_author & followed_back)
    )


def _mutes_hide(viewer: Any) -> Q:
    """`viewer` muted the author or an owner of a cameo in the video (nothing for anonymous)."""
    if viewer is None or not viewer.is_authenticated:
        return Q(pk__in=[])
    muted = Mute.objects.filter(muter=viewer)
    return Q(Exists(muted.filter(muted=OuterRef("requester")))) | Q(
        Exists(GenerationCameo.objects.filter(generation=OuterRef("pk"), owner__in=muted.values("muted")))
    )


def adults_only_admits(viewer: Any) -> Q:
    """A post marked for adults only (a moderator's age restriction) is shown to adults only: not to anyone
    under 18, of unknown age, or anonymous. Registered with the generation app's
    `register_published_audience_rule` (feed/media.py), so it holds for someone else's video everywhere:
    feeds, single posts, video detail, media URLs."""
    if viewer is None or not viewer.is_authenticated or viewer.is_minor:
        return Q(post__adults_only=False)
    return Q()


def posts_visible_to(viewer: Any) -> QuerySet[Generation]:
    """Every post `viewer` (a user, or anonymous) may see, as generations with their post: published and
    up, visible by the generation app's rule (which applies `adults_only_admits`), admitted by the post's
    audience, no cameo tag removed from it, and nobody `viewer` muted in it (neither its author nor a cameo
    owner; one's own posts are never hidden by a mute).

    Teen rules, for a viewer under 18 or of unknown age (`User.is_minor`), exactly:
    - no post marked for adults by someone else (`Post.adults_only`, through the generation app's
      `register_published_audience_rule`, so video detail and media links follow it; anonymous visitors
      neither);
    - no post by an adult who does not follow each other with the viewer (an "adult stranger") that
      features the cameo of a person under 18 or of unknown age: the generation app's rule
      (`generations_visible_to`), so share pages and signed media links follow it too;
    - no comment by an adult stranger (`comments_of_post`), and an adult stranger may not comment on a
      minor's post (`feed.services.comment_create`, 403 `comment_to_minor_not_allowed`)."""
    posts = (
        published_generations_visible_to(viewer)
        .filter(post__tag_removed_at__isnull=True)
        .filter(_audience_admits(viewer))
    )
    if viewer is not None and viewer.is_authenticated:
        posts = posts.exclude(Q(_mutes_hide(viewer)) & ~Q(requester=viewer))
    return posts


def remix_count() -> Coalesce:
    """How many published remixes of the post are up (counted like likes: for everyone, whoever may see
    each); a correlated count on the `remix_of` index, inside the page's one query."""
    remixes = (
        Generation.objects.filter(
            remix_of=OuterRef("pk"),
            published_at__isnull=False,
            removed_at__isnull=True,
            deleted_at__isnull=True,
        )
        .order_by()
        .values("remix_of")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(remixes, output_field=IntegerField()), 0)


# What a post shows, in a page or on its share page: the columns read, not the whole rows (a generation's
# row holds its prompt, spec, provenance and job state, its requester's the whole account), which at a
# page of 20 was most of the page query's time (bench/RESULTS.md).
_POST_COLUMNS = (
    "status", "video", "poster", "spec", "removed_at", "deleted_at", "published_at", "remix_of",
    "requester__username", "requester__display_name", "post",
)  # fmt: skip


def with_everything_a_page_shows(posts: QuerySet[Generation]) -> QuerySet[Generation]:
    cameo_uses = GenerationCameo.objects.select_related("owner").only(
        "generation_id", "handle", "owner__username"
    )
    return (
        posts.select_related("requester", "post")
        .only(*_POST_COLUMNS)
        .prefetch_related(Prefetch("cameo_uses", queryset=cameo_uses))
        .annotate(remix_count=remix_count())
    )


# A card's columns (`feed.cards`), in the order `post_card_rows` reads them.
CARD_COLUMNS = (
    "pk", "requester__username", "requester__display_name", "post__caption", "post__hashtags",
    "post__mentions", "post__visibility", "post__comments_enabled", "post__like_count",
    "post__comment_count", "post__view_count", "remix_count", "post__share_count", "remix_of_id", "status",
    "published_at", "video", "poster",
)  # fmt: skip


_CARD_ROWS = RowsOfIds(
    lambda: Generation.objects.annotate(remix_count=remix_count()).values_list(*CARD_COLUMNS), id_column="pk"
)
_CARD_CAMEO_USES = RowsOfIds(
    lambda: GenerationCameo.objects.order_by().values_list(
        "generation_id", "pk", "handle", "owner__username"
    ),
    id_column="generation_id",
    order_by="pk",
)


def post_card_rows(
    *, post_ids: Sequence[int]
) -> tuple[list[tuple[Any, ...]], list[tuple[int, int, str, str]]]:
    """What the cards of posts `post_ids` show (`CARD_COLUMNS`), and their cameo uses as (post id, use id,
    handle, owner's username), in two queries of plain rows, read without the visibility rule: only for ids
    that `feed.visible_ids.visible_post_ids` has just let through for the viewer (no model instances: at a
    page of 20 they were most of the page query's time; and their SQL built once, `core.db.RowsOfIds`)."""
    return _CARD_ROWS.rows(post_ids), _CARD_CAMEO_USES.rows(post_ids)


def newest_candidates(*, before: tuple[datetime, int] | None, limit: int) -> list[tuple[datetime, int]]:
    """(published_at, id) of the newest `limit` published videos on the site, strictly older than `before`
    when given: where a page of every post (`/feed/`) looks, before the visibility rule narrows them down
    (by the index on published_at: the rule in the same query made PostgreSQL walk the newest posts row
    by row through it, bench/RESULTS.md)."""
    return _newest_first(Generation.objects.filter(published_at__isnull=False), before=before, limit=limit)


def _newest_first(
    posts: QuerySet[Generation], *, before: tuple[datetime, int] | None, limit: int
) -> list[tuple[datetime, int]]:
    if before:
        posts = posts.filter(Q(published_at__lt=before[0]) | Q(published_at=before[0], pk__lt=before[1]))
    return list(posts.order_by("-published_at", "-pk").values_list("published_at", "pk")[:limit])


def post_get_visible(*, viewer: Any, post_id: int) -> Generation:
    """A post `viewer` may see, else "not found" (a private post, a block or a mute cannot be probed)."""
    generation = with_everything_a_page_shows(posts_visible_to(viewer)).filter(pk=post_id).first()
    if generation is None:
        raise ApplicationError(FeedError.POST_NOT_FOUND, f"No post {post_id} that you can see.", status=404)
    return generation


def _require_visible_post(*, viewer: Any, post_id: int) -> None:
    """ "Not found" unless `viewer` may see the post: one query, for reads of what hangs off a post."""
    if not posts_visible_to(viewer).filter(pk=post_id).exists():
        raise ApplicationError(FeedError.POST_NOT_FOUND, f"No post {post_id} that you can see.", status=404)


def public_posts(*, viewer: Any) -> QuerySet[Generation]:
    """The posts `viewer` may see whose audience is everyone: what the web pages list (only a public post
    has a share page)."""
    return with_everything_a_page_shows(
        posts_visible_to(viewer).filter(post__visibility=PostVisibility.PUBLIC)
    )


def public_post_get(*, viewer: Any, post_id: int) -> Generation:
    """A public post `viewer` may see, for its share page; "not found" otherwise (not public, hidden from
    `viewer`, unpublished, taken down, untagged: `posts_visible_to` decides, and none of it can be
    probed)."""
    generation = public_posts(viewer=viewer).filter(pk=post_id).first()
    if generation is None:
        raise ApplicationError(FeedError.POST_NOT_FOUND, f"No post {post_id} that you can see.", status=404)
    return generation


def profile_public_posts(*, viewer: Any, author: User) -> QuerySet[Generation]:
    """`author`'s public posts as `viewer` may see them (the author found with
    `accounts.selectors.user_get_visible`, which hides nobody, someone inactive or blocked either way)."""
    return public_posts(viewer=viewer).filter(requester=author)


def following_candidates(
    *, viewer: User, before: tuple[datetime, int] | None, limit: int
) -> list[tuple[datetime, int]]:
    """(published_at, id) of the newest `limit` published videos by the people `viewer` follows, strictly
    older than `before` when given, newest first: where a Following page looks, before the visibility rule
    (`feed.visible_ids.visible_post_ids`) narrows them down.

    Why a query of its own: in one query with the visibility rule, PostgreSQL either walks every post
    newest first until it finds the page (seconds for someone who follows a few quiet accounts: every post
    is read) or reads every post of everyone followed and sorts them (hundreds of ms for someone who follows
    a prolific account); its estimates cannot tell the two apart. Here each followed account gives at most
    `limit` entries from the index on (requester, published_at, id), so a page costs the same at any size of
    the table (bench/RESULTS.md). SQLite, which has no LATERAL, gets the same rows with a plain query."""
    table = Generation._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT c.published_at, c.id FROM {Follow._meta.db_table} f CROSS JOIN LATERAL ("
            f" SELECT g.published_at, g.id FROM {table} g"
            "  WHERE g.requester_id = f.followee_id AND g.published_at IS NOT NULL"
            + ("  AND (g.published_at, g.id) < (%s, %s)" if before else "")
            + "  ORDER BY g.published_at DESC, g.id DESC LIMIT %s) c"
            " WHERE f.follower_id = %s ORDER BY c.published_at DESC, c.id DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*(before or ()), limit, viewer.pk, limit])
            return [(published_at, pk) for published_at, pk in cursor.fetchall()]
    posts = Generation.objects.filter(
        requester__in=Follow.objects.filter(follower=viewer).values("followee"), published_at__isnull=False
    )
    return _newest_first(posts, before=before, limit=limit)


def profile_candidates(
    *, viewer: Any, username: str, before: tuple[datetime, int] | None, limit: int
) -> list[tuple[datetime, int]]:
    """(published_at, id) of the newest `limit` published videos of the person `username`, strictly older
    than `before` when given, from the index on (requester, published_at, id) alone: where a page of their
    profile looks, before the visibility rule narrows them down for `viewer`. "Not found" for nobody, or for
    someone inactive or blocked either way (`accounts.selectors.user_get_visible`)."""
    author = user_get_visible(viewer=viewer, username=username)
    posts = Generation.objects.filter(requester=author, published_at__isnull=False)
    return _newest_first(posts, before=before, limit=limit)


def remixes_of_post(*, viewer: Any, post_id: int) -> QuerySet[Generation]:
    """The posts that remix a post `viewer` may see (itself "not found" otherwise), as `viewer` may see
    them."""
    _require_visible_post(viewer=viewer, post_id=post_id)
    return with_everything_a_page_shows(posts_visible_to(viewer).filter(remix_of_id=post_id))


# The bounds of a remix tree (`remix_tree_of_post`): how far up and down the walk goes, and how many posts
# below the one asked for it reads at most.
REMIX_TREE_MAX_ANCESTORS = 100
REMIX_TREE_MAX_DEPTH = 3
REMIX_TREE_MAX_DESCENDANTS = 200


@dataclass(frozen=True)
class RemixTreeNode:
    post: Generation  # read with everything a page shows
    parent_id: int | None  # the node above it in the tree; None for the topmost node shown
    depth: int  # < 0: a source (-1 is the one it remixes), 0: the post asked for, > 0: a remix


@dataclass(frozen=True)
class RemixTree:
    nodes: list[RemixTreeNode]  # by depth, then id
    truncated: bool


class _LineageRow(NamedTuple):
    id: int
    parent_id: int | None
    depth: int


def _remix_lineage_ids(*, post_id: int) -> list[_LineageRow]:
    """The ids of a post's lineage, one query whatever its size (a recursive CTE, which PostgreSQL and
    SQLite both run): its sources, each the one the last remixes (depth -1 up to
    -(REMIX_TREE_MAX_ANCESTORS + 1)), and its remixes, theirs, and so on (depth 1 down to
    REMIX_TREE_MAX_DEPTH + 1, at most REMIX_TREE_MAX_DESCENDANTS + 1 rows): one more of each than is shown,
    so that the caller knows whether the bound cut the tree.

    Who may see each is not asked here: the caller asks `posts_visible_to`, once for all. The walk down
    follows only posts that are up (published, not taken down, not deleted, as `remix_count` counts them):
    a draft is nobody's post, and the rule would hide it, and all under it, from everyone anyway; this way
    the bound counts posts. Its LIMIT stops the walk itself, not a sort of its result: both engines produce
    a recursive CTE's rows breadth first (PostgreSQL level by level from its work table, SQLite from a FIFO
    queue) and stop once the outer query has its rows, so a post remixed a million times reads the rows of
    the bound, not the million (PostgreSQL's index scan of one post's remixes may still list their index
    entries: 0.6 ms for 20,000). Which siblings make it in when the bound cuts a level is then the engine's
    choice; the tree shown stays connected whatever the order (`remix_tree_of_post` shows a node only
    under a node shown)."""
    table = Generation._meta.db_table
    sql = (
        "WITH RECURSIVE"
        " sources(id, parent_id, depth) AS ("
        f"  SELECT id, remix_of_id, 0 FROM {table} WHERE id = %s"
        "  UNION ALL"
        f"  SELECT g.id, g.remix_of_id, s.depth - 1 FROM {table} g JOIN sources s ON g.id = s.parent_id"
        "   WHERE s.depth > %s),"
        " remixes(id, parent_id, depth) AS ("
        f"  SELECT id, remix_of_id, 0 FROM {table} WHERE id = %s"
        "  UNION ALL"
        f"  SELECT g.id, g.remix_of_id, r.depth + 1 FROM {table} g JOIN remixes r ON g.remix_of_id = r.id"
        "   WHERE r.depth < %s"
        "   AND g.published_at IS NOT NULL AND g.removed_at IS NULL AND g.deleted_at IS NULL)"
        " SELECT id, parent_id, depth FROM (SELECT id, parent_id, depth FROM sources WHERE depth < 0) up"
        " UNION ALL"
        " SELECT id, parent_id, depth FROM (SELECT id, parent_id, depth FROM remixes WHERE depth > 0 LIMIT %s)"
        " down"
    )
    params = [
        post_id,
        -(REMIX_TREE_MAX_ANCESTORS + 1),
        post_id,
        REMIX_TREE_MAX_DEPTH + 1,
        REMIX_TREE_MAX_DESCENDANTS + 1,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_LineageRow(*row) for row in cursor.fetchall()]


def remix_tree_of_post(*, viewer: Any, post_id: int) -> RemixTree:
    """The remix lineage of a post `viewer` may see (itself "not found" otherwise: `post_get_visible`):
    the sources it remixes, each the one the last remixes, up to the first (at most
    REMIX_TREE_MAX_ANCESTORS), and its remixes, theirs, and so on, down to REMIX_TREE_MAX_DEPTH levels and
    at most REMIX_TREE_MAX_DESCENDANTS posts, each as `viewer` may see it.

    A post `viewer` may not see (an audience they are not in, private included; blocked either way; muted;
    taken down, deleted, unpublished; the teen rules: `posts_visible_to` decides, nothing else) is left
    out with all beyond it: the remixes under it, or the sources above it. It is not shown as a
    placeholder (`{"id": null, "hidden": true}`): that would tell `viewer` that a post they may not see is
    there, and where, when every read of it answers "not found"; and the remixes under it, tied to this
    post through it alone, would betray it as well (a remix names its source, `remix_of`). The tree shown
    is connected and adds nothing to what `viewer` reads post by post (the topmost node's own `remix_of`
    is as `/posts/{id}/` gives it).

    `truncated`: the bound left something out: the walk down read its most posts (counted over every post
    that is up, as `remix_count` counts), or a post shown at the deepest level, or the highest source
    shown, has more beyond it.

    Constant queries whatever the tree: the post (`post_get_visible`); the ids of its lineage
    (`_remix_lineage_ids`); which of those `viewer` may see, read as a page is (one query, with its
    prefetch of the cameo uses and their owners)."""
    post = post_get_visible(viewer=viewer, post_id=post_id)
    lineage = _remix_lineage_ids(post_id=post.pk)
    sources = sorted((row for row in lineage if row.depth < 0), key=lambda row: -row.depth)
    remixes = sorted((row for row in lineage if row.depth > 0), key=lambda row: (row.depth, row.id))
    within_bounds = [row.id for row in sources if row.depth >= -REMIX_TREE_MAX_ANCESTORS] + [
        row.id for row in remixes if row.depth <= REMIX_TREE_MAX_DEPTH
    ][:REMIX_TREE_MAX_DESCENDANTS]
    posts = {post.pk: post}
    if within_bounds:
        posts |= {
            generation.pk: generation
            for generation in with_everything_a_page_shows(
                posts_visible_to(viewer).filter(pk__in=within_bounds)
            )
        }

    parent_of: dict[int, int | None] = {post.pk: None}
    depth_of = {post.pk: 0}
    truncated = len(remixes) > REMIX_TREE_MAX_DESCENDANTS
    below = post.pk
    for row in sources:  # a chain, nearest first: shown up to the first one hidden
        if row.depth < -REMIX_TREE_MAX_ANCESTORS:
            truncated = True
            break
        if row.id not in posts:
            break
        parent_of[below] = row.id
        parent_of[row.id], depth_of[row.id] = None, row.depth
        below = row.id
    shown_remixes = {post.pk}
    for row in remixes:  # by depth: a node is shown only under a node shown
        if row.parent_id not in shown_remixes:
            continue
        if row.depth > REMIX_TREE_MAX_DEPTH:
            truncated = True
        elif row.id in posts:
            shown_remixes.add(row.id)
            parent_of[row.id], depth_of[row.id] = row.parent_id, row.depth
    nodes = [
        RemixTreeNode(post=posts[pk], parent_id=parent_of[pk], depth=depth_of[pk])
        for pk in sorted(depth_of, key=lambda pk: (depth_of[pk], pk))
    ]
    return RemixTree(nodes=nodes, truncated=truncated)


def cameo_posts(*, viewer: User, cameo_id: int) -> QuerySet[Generation]:
    """The posts featuring a cameo, as `viewer` may see them, only when `viewer` may see the cameo itself
    (`cameos.selectors.cameo_get_visible`: verified, its owner active and not blocked either way; else
    "not found")."""
    cameo_get_visible(viewer=viewer, cameo_id=cameo_id)
    features = GenerationCameo.objects.filter(generation=OuterRef("pk"), cameo_id=cameo_id)
    return with_everything_a_page_shows(posts_visible_to(viewer).filter(Exists(features)))


def _comments_hidden_from(viewer: User) -> Q:
    """Comments by someone blocked either way with `viewer`, or muted by them; for a minor viewer, also
    those by adult strangers (adults who do not follow each other with them)."""
    hidden = Q(
        Exists(Block.objects.filter(blocker=viewer, blocked=OuterRef("author")))
        | Exists(Block.objects.filter(blocker=OuterRef("author"), blocked=viewer))
        | Exists(Mute.objects.filter(muter=viewer, muted=OuterRef("author")))
    )
    if viewer.is_minor:
        hidden |= is_adult_q("author") & ~mutuals_with_q(viewer, "author")
    return hidden


def comments_of_post(*, viewer: User, post_id: int) -> QuerySet[Comment]:
    """The comments on a post `viewer` may see, oldest first, each with its replies, leaving out those of
    people blocked either way or muted, and for a minor those of adult strangers (and the replies under a
    comment so left out)."""
    _require_visible_post(viewer=viewer, post_id=post_id)
    hidden = _comments_hidden_from(viewer)
    replies = Comment.objects.exclude(hidden).select_related("author").order_by("id")
    return (
        Comment.objects.filter(post_id=post_id, parent__isnull=True)
        .exclude(hidden)
        .select_related("author")
        .prefetch_related(Prefetch("replies", queryset=replies))
    )
