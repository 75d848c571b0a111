"""The For You score, and the spreading of authors over a page. Pure: plain values and numpy in, post ids
out, no database (the queries are `feed.ranking.selectors`).

    score = FRESHNESS · exp(-age / FRESHNESS_TAU)
          + ENGAGEMENT · (log1p(likes + 2·comments + 3·remixes) / log1p(ENGAGEMENT_SCALE), at most 1)
          + COMPLETION · completion rate (watch time / (distinct viewers · duration), at most 1)
          + AFFINITY · (½ if the viewer follows the author + ½ · their interactions with the author's posts,
                        log-scaled to at most 1)
          + FOLLOWED_CAMEO if the video features a cameo of someone the viewer follows
          + steering: STEER · (best cosine to a "more" term - MORE_BASELINE)
                      - STEER · (best cosine to a "less" term - LESS_BASELINE, when above it)
          - see less: SEE_LESS_AUTHOR per "see less" on the author (at most 2),
                      SEE_LESS_HASHTAG per hashtag shared with a post marked so (at most 2),
                      SEE_LESS_NEAR · (best cosine to a post marked so - SEE_LESS_NEAR_BASELINE, when above)

A post without a vector yet gets no steering or neighbourhood term (it still ranks on the rest). Cosines of
all-MiniLM-L6-v2 vectors run about 0.3 to 0.6 between a term and a text about it and below 0.15 between
unrelated ones; the baselines sit between, so a "more" term lifts what matches it and lowers what does not."""

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from feed.models import EMBEDDING_DIM

FRESHNESS = 1.0
FRESHNESS_TAU_HOURS = 24.0
ENGAGEMENT = 1.0
ENGAGEMENT_SCALE = 1000.0  # this many weighted reactions count as full engagement
COMPLETION = 0.5
AFFINITY = 1.0
INTERACTION_SCALE = 10.0  # this many weighted interactions with an author count as full affinity
FOLLOWED_CAMEO = 0.5
STEER = 3.0
MORE_BASELINE = 0.2
LESS_BASELINE = 0.1
SEE_LESS_AUTHOR = 1.0
SEE_LESS_HASHTAG = 0.5
SEE_LESS_NEAR = 2.0
SEE_LESS_NEAR_BASELINE = 0.35

PER_AUTHOR = 2  # at most this many posts of one author ...
WINDOW = 20  # ... in any run of this many consecutive posts (so on any page of up to 20)


@dataclass(frozen=True)
class Candidate:
    post_id: int
    author_id: int
    published_at: datetime
    likes: int
    comments: int
    remixes: int
    views: int  # distinct viewers
    watch_ms: int  # their total watch time
    duration_ms: int  # 0: unknown
    hashtags: tuple[str, ...]
    features_followed_cameo: bool
    vector: np.ndarray | None  # (EMBEDDING_DIM,) unit length, None until embedded


def _empty() -> np.ndarray:
    return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)


@dataclass(frozen=True)
class ViewerSignals:
    """What ranking knows of the viewer, read once per fresh ranking."""

    followed: frozenset[int] = frozenset()
    interactions: Mapping[int, float] = field(default_factory=dict)  # author id -> weighted count
    steer_more: np.ndarray = field(default_factory=_empty)  # (k, EMBEDDING_DIM)
    steer_less: np.ndarray = field(default_factory=_empty)
    see_less_posts: frozenset[int] = frozenset()
    see_less_authors: Mapping[int, int] = field(default_factory=dict)  # author id -> times
    see_less_hashtags: frozenset[str] = frozenset()
    see_less_vectors: np.ndarray = field(default_factory=_empty)  # (m, EMBEDDING_DIM)


def unpack_vectors(raw: bytes | memoryview | None) -> np.ndarray:
    """Stored float32 little-endian bytes as an (n, EMBEDDING_DIM) array (n = 0 for none)."""
    if not raw:
        return _empty()
    return np.frombuffer(bytes(raw), dtype="<f4").astype(np.float32).reshape(-1, EMBEDDING_DIM)


def pack_vectors(vectors: np.ndarray) -> bytes:
    assert vectors.ndim == 2 and vectors.shape[1] == EMBEDDING_DIM, f"vectors of shape {vectors.shape}"
    return vectors.astype("<f4").tobytes()


def _best_cosine(vectors: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """(n,) the highest cosine of each of the (n, D) unit vectors to any of the (k, D) unit terms."""
    return (vectors @ terms.T).max(axis=1)  # (n, k) -> (n,)


def _vector_terms(candidates: Sequence[Candidate], signals: ViewerSignals) -> np.ndarray:
    """(len(candidates),) the steering and "see less" neighbourhood terms; 0 for posts without a vector."""
    terms = np.zeros(len(candidates), dtype=np.float64)
    rows = [i for i, candidate in enumerate(candidates) if candidate.vector is not None]
    if not rows:
        return terms
    vectors = np.stack([candidates[i].vector for i in rows])  # type: ignore[misc]  # (n, D)
    part = np.zeros(len(rows), dtype=np.float64)
    if len(signals.steer_more):
        part += STEER * (_best_cosine(vectors, signals.steer_more) - MORE_BASELINE)
    if len(signals.steer_less):
        part -= STEER * np.maximum(0.0, _best_cosine(vectors, signals.steer_less) - LESS_BASELINE)
    if len(signals.see_less_vectors):
        near = _best_cosine(vectors, signals.see_less_vectors)
        part -= SEE_LESS_NEAR * np.maximum(0.0, near - SEE_LESS_NEAR_BASELINE)
    terms[rows] = part
    return terms


def _score(candidate: Candidate, signals: ViewerSignals, now: datetime) -> float:
    age_hours = max(0.0, (now - candidate.published_at).total_seconds() / 3600)
    reactions = candidate.likes + 2 * candidate.comments + 3 * candidate.remixes
    completion = 0.0
    if candidate.views and candidate.duration_ms:
        completion = min(1.0, candidate.watch_ms / (candidate.views * candidate.duration_ms))
    interactions = signals.interactions.get(candidate.author_id, 0.0)
    affinity = 0.5 * (candidate.author_id in signals.followed) + 0.5 * min(
        1.0, math.log1p(interactions) / math.log1p(INTERACTION_SCALE)
    )
    shared_tags = len(signals.see_less_hashtags.intersection(candidate.hashtags))
    return (
        FRESHNESS * math.exp(-age_hours / FRESHNESS_TAU_HOURS)
        + ENGAGEMENT * min(1.0, math.log1p(reactions) / math.log1p(ENGAGEMENT_SCALE))
        + COMPLETION * completion
        + AFFINITY * affinity
        + FOLLOWED_CAMEO * candidate.features_followed_cameo
        - SEE_LESS_AUTHOR * min(2, signals.see_less_authors.get(candidate.author_id, 0))
        - SEE_LESS_HASHTAG * min(2, shared_tags)
    )


def scores(candidates: Sequence[Candidate], signals: ViewerSignals, now: datetime) -> list[float]:
    vector_terms = _vector_terms(candidates, signals)
    return [
        _score(candidate, signals, now) + float(vector_terms[i]) for i, candidate in enumerate(candidates)
    ]


def spread_authors(ranked: Iterable[tuple[int, int]]) -> list[int]:
    """Post ids from (post id, author id) pairs in rank order, reordered so that no author has more than
    PER_AUTHOR posts in any WINDOW consecutive ones: each place takes the best-ranked post still allowed
    there. Posts that no place allows (only flooding authors are left) end the list: the feed is shorter
    rather than flooded."""
    waiting = list(ranked)
    placed: list[tuple[int, int]] = []
    recent: Counter[int] = Counter()  # author -> posts among the last WINDOW - 1 placed
    while waiting:
        pick = next((i for i, (_, author) in enumerate(waiting) if recent[author] < PER_AUTHOR), None)
        if pick is None:
            break
        post = waiting.pop(pick)
        placed.append(post)
        recent[post[1]] += 1
        if len(placed) >= WINDOW:
            recent[placed[-WINDOW][1]] -= 1
    return [post_id for post_id, _ in placed]


def rank(candidates: Sequence[Candidate], signals: ViewerSignals, now: datetime) -> list[int]:
    """The candidates' post ids, best first, authors spread out; posts the viewer asked to see less of
    are left out. Ties go to the newer post, then the higher id, so a ranking is deterministic."""
    kept = [candidate for candidate in candidates if candidate.post_id not in signals.see_less_posts]
    scored = zip(scores(kept, signals, now), kept, strict=True)
    ordered = sorted(scored, key=lambda pair: (pair[0], pair[1].published_at, pair[1].post_id), reverse=True)
    return spread_authors((candidate.post_id, candidate.author_id) for _, candidate in ordered)
