"""The one adapter between the feed and `ml/`: sentence vectors for For You (posts and steering texts).

Called only by the `feed.embed_*` Celery tasks. `ml` (and with it torch) is imported inside the function,
so a web process, which imports this module through the feed's services, never loads it; web processes
rank with the stored vectors and numpy alone (`feed.ranking.score`)."""

from __future__ import annotations

from feed.models import EMBEDDING_DIM


def embed_texts(texts: list[str]) -> list[bytes]:
    """Each text's all-MiniLM-L6-v2 vector, unit length, as float32 little-endian bytes."""
    from ml.text import DIM, embed_sentences

    assert DIM == EMBEDDING_DIM, f"the encoder gives {DIM}-D vectors, the feed stores {EMBEDDING_DIM}-D"
    vectors = embed_sentences(texts)  # (N, 384)
    return [row.astype("<f4").tobytes() for row in vectors]
