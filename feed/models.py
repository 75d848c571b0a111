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
    # The video's length (`engine_metadata["duration"]`, else the spec's), copied here when the post is
    # made so that ranking reads a completion rate (watch_ms / (view_count * duration_ms)) from this row.
    duration_ms = models.PositiveIntegerField(default=0)
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
        # A person's latest likes and their posts, read from the index alone (For You's affinity:
        # feed.ranking.selectors.viewer_signals; the post is in it on PostgreSQL).
        indexes = [models.Index(fields=["user", "id"], include=["post"], name="feed_like_user_latest")]

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
        indexes = [
            models.Index(fields=["post", "parent", "id"]),
            models.Index(fields=["author", "id"], include=["post"], name="feed_comment_author_latest"),
        ]

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
        # A viewer's latest views and their posts, read from the index alone (For You's affinity).
        indexes = [models.Index(fields=["viewer", "id"], include=["post"], name="feed_view_viewer_latest")]

    def __str__(self) -> str:
        return f"user {self.viewer_id} watched post {self.post_id}"


# --- Ranking (For You): post vectors, the viewer's steering text, "see less" -------------------------------
# Vectors are all-MiniLM-L6-v2 sentence embeddings, computed by the `feed.embed_*` Celery tasks (never in a
# web process) and stored as float32 little-endian bytes; `feed.ranking` reads them with numpy.

EMBEDDING_DIM = 384
STEERING_MAX_CHARS = 200


class PostEmbedding(models.Model):
    """A post's vector: of its caption, hashtags and the prompt as its creator wrote it. The prompt is only
    ranked on, never shown (`feed.ranking.embedding.post_embedding_text`)."""

    post = models.OneToOneField(Post, primary_key=True, on_delete=models.CASCADE, related_name="embedding")
    vector = models.BinaryField()  # float32 little-endian (EMBEDDING_DIM,), unit length
    # Of the text the vector was computed from: embedding the same text again is a no-op.
    text_sha256 = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"embedding of post {self.post_id}"


class FeedSteering(models.Model):
    """A viewer's short text steering their For You feed ("more animals, less sports"), parsed into "more"
    and "less" terms (`feed.ranking.steering.parse_steering`), each with its vector once embedded."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="feed_steering"
    )
    text = models.CharField(max_length=STEERING_MAX_CHARS)
    more = models.JSONField(default=list, blank=True)  # the terms to see more of, in order
    less = models.JSONField(default=list, blank=True)
    # float32 little-endian (len(more), EMBEDDING_DIM) and (len(less), EMBEDDING_DIM), of `embedded_text`'s
    # terms. Ranking uses them only while `embedded_text == text` (a newer text is still being embedded).
    more_vectors = models.BinaryField(default=b"", blank=True)
    less_vectors = models.BinaryField(default=b"", blank=True)
    embedded_text = models.CharField(max_length=STEERING_MAX_CHARS, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"steering of user {self.user_id}"

    @property
    def is_embedded(self) -> bool:
        return self.embedded_text == self.text


class SeeLess(models.Model):
    """A viewer's "see less like this" on a post: lowers its author and its topic (hashtags, and posts
    whose vectors are near its vector) in their For You feed. The author and hashtags are copied so that
    ranking reads them without joining the post."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    hashtags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="feed_see_less_once")]
        indexes = [models.Index(fields=["user", "-created_at"], name="feed_see_less_recent")]

    def __str__(self) -> str:
        return f"user {self.user_id} sees less like post {self.post_id}"


# --- Notifications ------------------------------------------------------------------------------------------


class NotificationKind(models.TextChoices):
    CAMEO_USED_IN_DRAFT = "cameo_used_in_draft"  # someone else's finished video uses your cameo
    CAMEO_USED_IN_POST = "cameo_used_in_post"  # ... and they published it
    ACCESS_REQUESTED = "access_requested"  # someone asks to use your cameo
    ACCESS_GRANTED = "access_granted"  # a cameo's owner approved your request
    COMMENT = "comment"  # on your post
    REPLY = "reply"  # to your comment
    LIKE = "like"  # of your post: one aggregate per post, collecting its likers
    FOLLOW = "follow"
    MODERATION_DECISION = "moderation_decision"  # about you or your content; never names the moderator
    REPORT_OUTCOME = "report_outcome"  # of a report you made; never names the moderator
    APPEAL_DECIDED = "appeal_decided"  # your appeal of a decision, upheld or denied, with the reply


class Notification(models.Model):
    """Something that happened that its recipient should hear about, kept as their list (read or unread)
    and pushed to their socket after commit (`feed.notifications.services`).

    What it is about is one of the nullable foreign keys: `video` (a post, which shares its video's id, or
    for `cameo_used_in_draft` the draft, an appearance of the recipient's cameo), `comment`, `cameo`; a
    moderation notice keeps its facts in `data` instead (moderation sits above the feed, which cannot point
    at its rows). A like is aggregated: one row per (recipient, post), whose `actor` is the latest liker and
    `actor_count` the number of likers the recipient hears from."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    # Who caused it; None for the moderation notices (the moderator is never named).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # How many people the aggregate stands for (likes), 1 otherwise; 0 hides an aggregate whose likes were
    # all taken back, kept so that liking again does not announce it twice.
    actor_count = models.PositiveIntegerField(default=1)
    video = models.ForeignKey(
        "generation.Generation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    cameo = models.ForeignKey(
        "cameos.Cameo", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # What the text needs beyond the rows above: the moderation facts (action, rule, reason, ...), the
    # like aggregate's highest count so far (`peak`).
    data = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # When it last reached the recipient: its creation, or the like that last announced its aggregate.
    # The list is newest first by (notified_at, id).
    notified_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "video"],
                condition=models.Q(kind="like"),
                name="feed_notification_one_like_aggregate",
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "-notified_at", "-id"], name="feed_notif_recipient_newest"),
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="feed_notif_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.recipient_id}"


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
