"""Posts: a published video as its creator chose to show it (caption, audience, comments on or off), and
what happens to it in the feed.

A `Post` is one-to-one with the `generation.Generation` it shows and shares its primary key, so a post's id
is its video's id. The video's state (published or not, taken down, deleted) stays on the generation, where
the one visibility rule (`generation.selectors.generations_visible_to`) reads it; the post holds only what
the feed adds on top. Every published video has a post: `generation_publish` fires `generation_publishing`
and `feed.receivers` creates it (defaults: public, no caption, comments on)."""

from django.conf import settings
from django.db import models

CAPTION_MAX_CHARS = 500
COMMENT_MAX_CHARS = 1000
MAX_VIEW_EVENTS = 50  # per request
MAX_WATCH_MS = 10 * 60 * 1000  # per event: longer than any video, so a client cannot inflate a post
MAX_HASHTAGS = 30
MAX_MENTIONS = 30


class PostVisibility(models.TextChoices):
    PUBLIC = "public"  # anyone, signed in or not
    FOLLOWERS = "followers"  # people who follow the author
    MUTUALS = "mutuals"  # people who follow the author and whom the author follows back
    PRIVATE = "private"  # the author only


class Post(models.Model):
    generation = models.OneToOneField(
        "generation.Generation", primary_key=True, on_delete=models.CASCADE, related_name="post"
    )
    caption = models.CharField(max_length=CAPTION_MAX_CHARS, blank=True)
    # Parsed from the caption when it is written: lower-cased tags without '#', in order of first use;
    # the usernames (as registered) of the active people mentioned, those blocked either way left out.
    hashtags = models.JSONField(default=list, blank=True)
    mentions = models.JSONField(default=list, blank=True)
    visibility = models.CharField(
        max_length=10, choices=PostVisibility.choices, default=PostVisibility.PUBLIC
    )
    comments_enabled = models.BooleanField(default=True)
    # Marked for adults (by a moderator's age-restrict decision): never shown to a viewer under 18 or of
    # unknown age, nor to anonymous visitors (`feed.selectors.posts_visible_to`).
    adults_only = models.BooleanField(default=False)
    # Kept equal to the number of `Like` rows by `feed.services.post_like` / `post_unlike`, which change it
    # only when a row was really added or removed, under the post's row lock.
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)  # comments and replies, kept like like_count
    # Distinct viewers (never the author) and their total watch time, from `PostView` (feed.services.views_record).
    view_count = models.PositiveIntegerField(default=0)
    watch_ms = models.PositiveBigIntegerField(default=0)
    # Distinct people who asked for its share link (`PostShare`), kept like like_count (feed.services.post_share).
    share_count = models.PositiveIntegerField(default=0)
    # When the first cameo owner in it removed their tag: the post is out of every feed for good (the
    # video is unpublished and may not be published again). Who did it is in `PostTagRemoval`.
    tag_removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"post {self.pk} ({self.visibility})"


class PostTagRemoval(models.Model):
    """A cameo owner's removal of their tag from a post: their record of it, one per owner and post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="tag_removals")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "owner"], name="feed_tag_removal_once")]

    def __str__(self) -> str:
        return f"user {self.owner_id} untagged from post {self.post_id}"


class Like(models.Model):
    """One person's like of a post: at most one (the unique row makes liking idempotent)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="feed_like_once")]

    def __str__(self) -> str:
        return f"user {self.user_id} likes post {self.post_id}"


class Comment(models.Model):
    """A comment on a post, or a reply to one (`parent`): one level only, a reply's parent is never itself
    a reply (`feed.services.comment_create` refuses that)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    text = models.CharField(max_length=COMMENT_MAX_CHARS)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["post", "parent", "id"])]

    def __str__(self) -> str:
        return f"comment {self.pk} on post {self.post_id}"


class PostView(models.Model):
    """One viewer's watching of one post: one row however many times they watch it (views are counted per
    distinct viewer), with their total watch time."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="views")
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    watch_ms = models.PositiveBigIntegerField(default=0)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "viewer"], name="feed_view_once")]

    def __str__(self) -> str:
        return f"user {self.viewer_id} watched post {self.post_id}"


class PostShare(models.Model):
    """One person's sharing of a post (its share link asked for): one row however often they share it, so
    the count is of people and one account cannot inflate it."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="feed_share_once")]

    def __str__(self) -> str:
        return f"user {self.user_id} shared post {self.post_id}"
