"""Writes of vectors: a post's and a steering text's. Run by the `feed.embed_*` tasks on the cpu queue (the
encoder is loaded there, never in a web process: `feed.inference`). Both are idempotent: a text already
embedded is not embedded again, and a vector computed for a text that changed meanwhile is not kept."""

import hashlib
import re

from django.db import transaction

from feed.inference import embed_texts
from feed.models import FeedSteering, Post, PostEmbedding
from feed.ranking import snapshot

_MARKS = re.compile(r"[@#]")


def post_embedding_text(*, caption: str, hashtags: list[str], prompt: str) -> str:
    """What a post's vector is of: its caption, its hashtags and the prompt as its creator wrote it (the
    prompt is ranked on, never shown). @ and # are dropped: the words after them carry the meaning."""
    parts = [caption, " ".join(hashtags), prompt]
    return _MARKS.sub("", ". ".join(part.strip() for part in parts if part.strip()))


def post_embed(*, post_id: int) -> None:
    """Compute and store the vector of a post's current text; nothing when it is stored already, or the
    post is gone."""
    post = Post.objects.select_related("generation").filter(generation__pk=post_id).first()
    if post is None:
        return
    text = post_embedding_text(caption=post.caption, hashtags=post.hashtags, prompt=post.generation.prompt)
    if not text:
        return
    digest = hashlib.sha256(text.encode()).hexdigest()
    if PostEmbedding.objects.filter(post=post, text_sha256=digest).exists():
        return
    (vector,) = embed_texts([text])
    with transaction.atomic():
        # The caption may have changed while the encoder ran: keep the vector only for the text it is of.
        current = Post.objects.select_for_update().select_related("generation").filter(pk=post.pk).first()
        if (
            current is None
            or post_embedding_text(
                caption=current.caption, hashtags=current.hashtags, prompt=current.generation.prompt
            )
            != text
        ):
            return
        PostEmbedding.objects.update_or_create(
            post=current, defaults={"vector": vector, "text_sha256": digest}
        )


def steering_embed(*, user_id: int) -> None:
    """Compute and store the vectors of a viewer's steering terms; nothing when they are stored already,
    or the steering is gone or changed while they were computed."""
    steering = FeedSteering.objects.filter(user_id=user_id).first()
    if steering is None or steering.is_embedded:
        return
    terms = [*steering.more, *steering.less]
    # Stored as they come (float32 rows, concatenated): this module stays free of numpy, so that the
    # feed's services, which import it through the tasks, load nothing heavy at start-up.
    vectors = embed_texts(terms) if terms else []
    with transaction.atomic():
        current = FeedSteering.objects.select_for_update().filter(user_id=user_id).first()
        if current is None or current.text != steering.text:
            return
        current.more_vectors = b"".join(vectors[: len(steering.more)])
        current.less_vectors = b"".join(vectors[len(steering.more) :])
        current.embedded_text = current.text
        current.save(update_fields=["more_vectors", "less_vectors", "embedded_text", "updated_at"])
        # Ranked without these terms until now: the viewer's next first page ranks with them (dropped
        # now and once committed, as `feed.ranking.services` does for the viewer's own writes).
        snapshot.ranking_forget(viewer_id=user_id)
        transaction.on_commit(lambda: snapshot.ranking_forget(viewer_id=user_id))
