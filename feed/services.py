"""Writes of the feed: publishing a video as a post, editing it, taking it back, deleting it, and a cameo
owner removing their tag.

Publishing goes through `generation.services.generation_publish`, which keeps the one publish rule (a
finished video, not taken down, every cameo in it still the author's to use, asked of
`cameos.selectors.cameo_use_refusal` now) and fires `generation_publishing`, on which `feed.receivers`
creates the post; this module then writes what the author chose."""

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.selectors import are_mutuals, blocked_user_ids
from core.exceptions import ApplicationError
from core.tasks import enqueue_on_commit
from feed.captions import parse_caption
from feed.cards import post_cards_forget
from feed.errors import FeedError
from feed.models import Comment, Like, Post, PostShare, PostTagRemoval, PostView, PostVisibility
from feed.notifications.services import like_aggregate_recount, notify_comment, notify_like
from feed.selectors import posts_visible_to
from feed.tasks import embed_post_task
from generation.models import Generation, GenerationCameo
from generation.services import generation_delete, generation_publish, generation_unpublish


def _resolve_mentions(*, author: User, names: list[str]) -> list[str]:
    """The usernames, as registered, of the active people mentioned; someone blocked either way with the
    author is left out (a mention must not reach them)."""
    if not names:
        return []
    found = {
        user.username.lower(): user.username
        for user in User.objects.annotate(name=Lower("username"))
        .filter(is_active=True, name__in=[name.lower() for name in names])
        .exclude(pk__in=blocked_user_ids(author))
    }
    return [found[name.lower()] for name in names if name.lower() in found]


def _own_post_for_update(*, author: User, post_id: int) -> Post:
    # Looked up through `generation__pk`: an id out of the column's range then finds nothing, as Django's
    # lookups on an AutoField do, where one on the one-to-one key would reach the database and fail.
    post = (
        Post.objects.select_for_update()
        .select_related("generation")
        .filter(generation__pk=post_id, generation__requester=author, generation__deleted_at__isnull=True)
        .first()
    )
    if post is None:
        raise ApplicationError(FeedError.POST_NOT_FOUND, f"You have no post {post_id}.", status=404)
    return post


@transaction.atomic
def post_update(
    *,
    author: User,
    post_id: int,
    caption: str | None = None,
    visibility: str | None = None,
    comments_enabled: bool | None = None,
) -> Post:
    """Change what the author chose for their post; what is not given stays. The caption's mentions and
    hashtags are parsed again from the new text."""
    post = _own_post_for_update(author=author, post_id=post_id)
    fields = []
    if caption is not None:
        parsed = parse_caption(caption)
        post.caption = caption
        post.hashtags = parsed.hashtags
        post.mentions = _resolve_mentions(author=author, names=parsed.mentions)
        fields += ["caption", "hashtags", "mentions"]
    if visibility is not None:
        post.visibility = visibility
        fields.append("visibility")
    if comments_enabled is not None:
        post.comments_enabled = comments_enabled
        fields.append("comments_enabled")
    if fields:
        post.full_clean()
        post.save(update_fields=[*fields, "updated_at"])
        post_cards_forget(post_ids=[post.pk])
    if caption is not None:
        enqueue_on_commit(embed_post_task, post.pk)  # its For You vector follows the new text
    return post


@transaction.atomic
def post_publish(
    *,
    author: User,
    generation_id: int,
    caption: str | None = None,
    visibility: str | None = None,
    comments_enabled: bool | None = None,
) -> Post:
    """Publish the author's finished video as a post (the generation app decides whether it may be
    published, consent for every cameo included), with the caption, audience and comment setting given (what is not given keeps
    the post's: the defaults the first time). Publishing a video already published updates its post."""
    generation_publish(requester=author, generation_id=generation_id)
    return post_update(
        author=author,
        post_id=generation_id,
        caption=caption,
        visibility=visibility,
        comments_enabled=comments_enabled,
    )


@transaction.atomic
def post_unpublish(*, author: User, post_id: int) -> Post:
    """Take the post out of the feed: the video goes back to the author's drafts; the post (caption,
    audience) stays for a later publish."""
    post = _own_post_for_update(author=author, post_id=post_id)
    generation_unpublish(requester=author, generation_id=post_id)
    post.generation.refresh_from_db(fields=["published_at"])
    return post


@transaction.atomic
def post_delete(*, author: User, post_id: int) -> None:
    """Delete the post and its video (`generation.services.generation_delete`: the media goes, the cameo
    owners keep their record of the appearance)."""
    _own_post_for_update(author=author, post_id=post_id)
    generation_delete(requester=author, generation_id=post_id)


@transaction.atomic
def post_tag_remove(*, owner: User, post_id: int) -> None:
    """An owner of a cameo in the post removes their tag: the post leaves every feed at once and for good
    (its video is unpublished and `feed.receivers` refuses to publish it again). The author keeps the video
    among their drafts. Idempotent. Anyone not in the video gets "not found"."""
    in_video = GenerationCameo.objects.filter(generation__pk=post_id, owner=owner)
    post = (
        Post.objects.select_for_update()
        .select_related("generation__requester")
        .filter(generation__pk=post_id, generation__deleted_at__isnull=True)
        .filter(pk__in=in_video.values("generation_id"))
        .first()
    )
    if post is None:
        raise ApplicationError(FeedError.POST_NOT_FOUND, f"You are in no post {post_id}.", status=404)
    PostTagRemoval.objects.get_or_create(post=post, owner=owner)
    if post.tag_removed_at is None:
        post.tag_removed_at = timezone.now()
        post.save(update_fields=["tag_removed_at", "updated_at"])
    generation: Generation = post.generation
    if generation.published_at is not None:
        generation_unpublish(requester=generation.requester, generation_id=generation.pk)


@transaction.atomic
def post_set_adults_only(*, post_id: int, adults_only: bool) -> None:
    """Mark a post for adults only, or lift the mark (a moderator's age-restrict decision, or its reversal
    on appeal). Takes effect at once: the feed's one visibility rule reads it."""
    post = Post.objects.select_for_update().filter(generation__pk=post_id).first()
    if post is None:
        raise ApplicationError(FeedError.POST_NOT_FOUND, f"No post {post_id}.", status=404)
    if post.adults_only != adults_only:
        post.adults_only = adults_only
        post.save(update_fields=["adults_only", "updated_at"])


def post_ensure(*, generation: Generation) -> Post:
    """The post of a video about to be published (created with the defaults the first time), refusing one
    that a cameo owner removed their tag from. Called by `feed.receivers` inside `generation_publish`.
    After the commit its For You vector is computed (`feed.embed_post`, a no-op when it has one)."""
    post, _ = Post.objects.select_for_update().get_or_create(generation=generation)
    if post.tag_removed_at is not None:
        raise ApplicationError(
            FeedError.TAG_REMOVED,
            f"A cameo owner removed their tag from video {generation.pk}; it cannot be published again.",
            status=409,
        )
    duration_ms = _duration_ms(generation)
    if post.duration_ms != duration_ms:
        post.duration_ms = duration_ms
        post.save(update_fields=["duration_ms", "updated_at"])
    enqueue_on_commit(embed_post_task, post.pk)
    # Its published time changes, and a remix adds to its source's count.
    post_cards_forget(post_ids=[post.pk, *([generation.remix_of_id] if generation.remix_of_id else [])])
    return post


def _duration_ms(generation: Generation) -> int:
    """The video's length as rendered, else as its spec asked (0 when neither says)."""
    seconds = (generation.engine_metadata or {}).get("duration") or (generation.spec or {}).get("duration")
    return round(seconds * 1000) if isinstance(seconds, int | float) and seconds > 0 else 0


def _visible_post_for_update(*, viewer: User, post_id: int) -> Post:
    """The post `viewer` may see (`feed.selectors.posts_visible_to`), its row locked, else "not found"."""
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("generation__requester")
        .filter(generation__in=posts_visible_to(viewer).filter(pk=post_id).values("pk"))
        .first()
    )
    if post is None:
        raise ApplicationError(FeedError.POST_NOT_FOUND, f"No post {post_id} that you can see.", status=404)
    return post


@transaction.atomic
def post_like(*, user: User, post_id: int) -> Post:
    """Like a post `user` may see; liking it again changes nothing. Race-free: the post's row lock orders
    concurrent likes of one post, the unique (post, user) row makes a repeat a no-op, and the counter moves
    by an F() expression only when a row was added. The author's like notification is updated under the
    same lock (`feed.notifications.services.notify_like`)."""
    post = _visible_post_for_update(viewer=user, post_id=post_id)
    _, created = Like.objects.get_or_create(post=post, user=user)
    if created:
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
        notify_like(post=post)
        post_cards_forget(post_ids=[post.pk])
    post.refresh_from_db(fields=["like_count"])
    return post


@transaction.atomic
def post_unlike(*, user: User, post_id: int) -> Post:
    """Take back a like; unliking what one does not like changes nothing. Same locking as `post_like`."""
    post = _visible_post_for_update(viewer=user, post_id=post_id)
    deleted, _ = Like.objects.filter(post=post, user=user).delete()
    if deleted:
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") - 1)
        like_aggregate_recount(post=post)
        post_cards_forget(post_ids=[post.pk])
    post.refresh_from_db(fields=["like_count"])
    return post


@transaction.atomic
def post_share(*, user: User, post_id: int) -> Post:
    """`user` shares a post they may see: only a public post has a share page (`/v/<id>`), anything else is
    refused `post_not_public`. Counted once per person however often they share it (a unique row), the
    counter moving by an F() expression under the post's row lock, like likes."""
    post = _visible_post_for_update(viewer=user, post_id=post_id)
    if post.visibility != PostVisibility.PUBLIC:
        raise ApplicationError(
            FeedError.POST_NOT_PUBLIC,
            f"Post {post_id} is not public: only public posts have a share page.",
            status=409,
        )
    _, created = PostShare.objects.get_or_create(post=post, user=user)
    if created:
        Post.objects.filter(pk=post.pk).update(share_count=F("share_count") + 1)
        post_cards_forget(post_ids=[post.pk])
    post.refresh_from_db(fields=["share_count"])
    return post


@transaction.atomic
def comment_create(*, author: User, post_id: int, text: str, parent_id: int | None = None) -> Comment:
    """Comment on a post `author` may see, or reply to a comment on it (one level: not to a reply). Refused
    while the post's author has comments off, and (teen rule) to an adult on a minor's post unless the two
    follow each other. The post's row lock orders the counter's updates."""
    post = _visible_post_for_update(viewer=author, post_id=post_id)
    if not post.comments_enabled:
        raise ApplicationError(
            FeedError.COMMENTS_DISABLED, f"Comments are off on post {post_id}.", status=409
        )
    post_author = post.generation.requester
    if post_author.is_minor and not author.is_minor and not are_mutuals(author, post_author):
        raise ApplicationError(
            FeedError.COMMENT_TO_MINOR_NOT_ALLOWED,
            "Only people they follow back may comment on this person's posts.",
            status=403,
        )
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(post=post).filter(pk=parent_id).first()
        if parent is None:
            raise ApplicationError(
                FeedError.COMMENT_NOT_FOUND, f"No comment {parent_id} on post {post_id}.", status=404
            )
        if parent.parent_id is not None:
            raise ApplicationError(
                FeedError.REPLY_TO_REPLY,
                f"Comment {parent_id} is a reply; reply to comment {parent.parent_id} instead.",
                status=400,
            )
    comment = Comment(post=post, author=author, parent=parent, text=text)
    comment.full_clean()
    comment.save()
    Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
    post_cards_forget(post_ids=[post.pk])
    notify_comment(comment=comment)
    return comment


def _comment_not_found(comment_id: int) -> ApplicationError:
    return ApplicationError(
        FeedError.COMMENT_NOT_FOUND, f"No comment {comment_id} that you can change.", status=404
    )


@transaction.atomic
def comment_update(*, author: User, comment_id: int, text: str) -> Comment:
    """Its author edits a comment on a post they may still see."""
    comment = (
        Comment.objects.select_for_update()
        .filter(pk=comment_id, author=author)
        .filter(post__generation__in=posts_visible_to(author).values("pk"))
        .first()
    )
    if comment is None:
        raise _comment_not_found(comment_id)
    comment.text = text
    comment.edited_at = timezone.now()
    comment.full_clean()
    comment.save(update_fields=["text", "edited_at"])
    return comment


@transaction.atomic
def comment_delete(*, user: User, comment_id: int) -> None:
    """Its author, or the post's author, deletes a comment, with its replies. The post's counter drops by
    as many, under the post's row lock."""
    comment = (
        Comment.objects.filter(pk=comment_id)
        .filter(Q(author=user) | Q(post__generation__requester=user))
        .first()
    )
    if comment is None:
        raise _comment_not_found(comment_id)
    Post.objects.select_for_update().filter(pk=comment.post_id).first()
    removed = (
        Comment.objects.filter(Q(pk=comment.pk) | Q(parent_id=comment.pk))
        .delete()[1]
        .get(Comment._meta.label, 0)
    )
    if removed:
        Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") - removed)
        post_cards_forget(post_ids=[comment.post_id])


@transaction.atomic
def views_record(*, viewer: User, events: list[tuple[int, int]]) -> int:
    """Record a client's batch of (post id, watch time in ms) events. Events for one post are merged; a
    post counts one view per distinct viewer however often it is watched, its watch time adds up; the
    author's own views, and posts `viewer` may not see, are not counted. Each post's row is locked (in id
    order, so two batches cannot deadlock) while its counters move. Returns how many posts were counted."""
    totals: dict[int, int] = {}
    for post_id, watch_ms in events:
        totals[post_id] = totals.get(post_id, 0) + watch_ms
    counted = sorted(
        posts_visible_to(viewer)
        .filter(pk__in=list(totals))
        .exclude(requester=viewer)
        .values_list("pk", flat=True)
    )
    for post_id in counted:
        watch_ms = totals[post_id]
        Post.objects.select_for_update().filter(pk=post_id).first()
        _, created = PostView.objects.get_or_create(
            post_id=post_id, viewer=viewer, defaults={"watch_ms": watch_ms}
        )
        if not created:
            PostView.objects.filter(post_id=post_id, viewer=viewer).update(
                watch_ms=F("watch_ms") + watch_ms, last_seen_at=timezone.now()
            )
        Post.objects.filter(pk=post_id).update(
            view_count=F("view_count") + int(created), watch_ms=F("watch_ms") + watch_ms
        )
    # Views keep the cards: a popular post is watched many times a second, and dropping its card at each
    # batch would leave the most-read cards never kept; its view count shows within FEED_POST_CARD_TTL_S.
    return len(counted)
