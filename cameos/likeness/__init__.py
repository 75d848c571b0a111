"""Likeness search for cameo verification: is this new face another user's verified cameo (possible
impersonation: held for review), or a protected public figure (rejected)?

One interface (`LikenessIndex`), two backends chosen per database by `get_index`: pgvector's HNSW index
where the database has the extension (`cameos/likeness/pgvector.py`), an in-process scan of quantised
codes (faiss) mirroring the FaceEmbedding table otherwise (`cameos/likeness/inprocess.py`, which says how
it stays correct across processes). Distances are dlib's L2 (the same person is below 0.6). Importing this package
imports neither numpy nor faiss: web processes import `cameos`.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections

from cameos.likeness.base import (
    DIMENSIONS,
    LikenessIndex,
    Neighbor,
    ProtectedMatch,
    as_face_vector,
    vector_from_bytes,
    vector_to_bytes,
)
from cameos.models import Cameo, FaceEmbedding, ProtectedLikeness

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DIMENSIONS",
    "LikenessIndex",
    "Neighbor",
    "ProtectedMatch",
    "find_impersonation_matches",
    "find_protected_matches",
    "get_index",
    "index_cameo",
    "reset_indexes",
    "unindex_cameo",
    "vector_from_bytes",
    "vector_to_bytes",
]

logger = logging.getLogger(__name__)

# How many nearest other-owner cameos an impersonation check looks at; any of them within the distance
# is reported (one is enough to hold the cameo for review).
IMPERSONATION_CANDIDATES = 10

_indexes: dict[str, LikenessIndex] = {}
_indexes_lock = threading.Lock()


BACKENDS = ("auto", "pgvector", "in-process")


def get_index(*, using: str = DEFAULT_DB_ALIAS) -> LikenessIndex:
    """The index for database `using`, one per process, as `CAMEO_LIKENESS_BACKEND` says: "auto" takes
    pgvector when that database is PostgreSQL with the extension and migration 0002's column, the in-process
    index otherwise; "pgvector" insists on it (ImproperlyConfigured where it is missing); "in-process" takes
    the in-process index on any database. The choice is made once per process and alias (an in-process
    index is expensive to build)."""
    backend = settings.CAMEO_LIKENESS_BACKEND
    if backend not in BACKENDS:
        raise ImproperlyConfigured(f"CAMEO_LIKENESS_BACKEND must be one of {BACKENDS}, not {backend!r}.")
    with _indexes_lock:
        index = _indexes.get(using)
        if index is None:
            from cameos.likeness import pgvector

            available = backend != "in-process" and pgvector.is_available(connections[using])
            if backend == "pgvector" and not available:
                raise ImproperlyConfigured(
                    f"CAMEO_LIKENESS_BACKEND is 'pgvector' but database {using!r} has no pgvector column "
                    "(install the extension, then `migrate cameos 0001 && migrate cameos`)."
                )
            if available:
                index = pgvector.PgvectorIndex(using=using)
            else:
                from cameos.likeness.inprocess import InProcessIndex

                index = InProcessIndex(using=using)
            logger.info("likeness index for database %r: %s", using, type(index).__name__)
            _indexes[using] = index
        return index


def reset_indexes() -> None:
    """Forget every index of this process, so the next `get_index` chooses and builds afresh. Tests need it:
    a rolled-back test transaction lets SQLite hand out the same ids again, which an id-based refresh cannot
    notice."""
    with _indexes_lock:
        _indexes.clear()


def find_impersonation_matches(
    *, vector: np.ndarray, owner_id: int, max_distance: float, using: str = DEFAULT_DB_ALIAS
) -> list[Neighbor]:
    """Other owners' verified person cameos within `max_distance` (L2) of `vector`, closest first: a
    non-empty answer means the new cameo may be an impersonation and goes to review. Only the nearest
    `IMPERSONATION_CANDIDATES` are looked at."""
    if max_distance <= 0:
        raise ValueError(f"max_distance must be positive, got {max_distance}.")
    neighbours = get_index(using=using).nearest(vector, IMPERSONATION_CANDIDATES, exclude_owner_id=owner_id)
    return [neighbour for neighbour in neighbours if neighbour.distance <= max_distance]


def find_protected_matches(
    *, vector: np.ndarray, max_distance: float, using: str = DEFAULT_DB_ALIAS
) -> list[ProtectedMatch]:
    """Protected-likeness gallery entries within `max_distance` (L2) of `vector`, closest first. The gallery
    is a staff-curated list of public figures (hundreds, not millions): an exact scan of it, read fresh on
    every call, so a figure staff just added protects from the next upload on."""
    import numpy as np

    query = as_face_vector(vector)
    if max_distance <= 0:
        raise ValueError(f"max_distance must be positive, got {max_distance}.")
    gallery = list(
        ProtectedLikeness.objects.using(using)
        .filter(dimensions=DIMENSIONS)
        .values_list("id", "name", "vector")
    )
    if not gallery:
        return []
    vectors = np.stack([vector_from_bytes(raw) for _, _, raw in gallery])  # (G, 128)
    distances = np.linalg.norm(vectors - query, axis=1)  # (G,)
    matches = [
        ProtectedMatch(likeness_id=likeness_id, name=name, distance=float(distance))
        for (likeness_id, name, _), distance in zip(gallery, distances, strict=True)
        if distance <= max_distance
    ]
    return sorted(matches, key=lambda match: (match.distance, match.likeness_id))


def index_cameo(cameo: Cameo, *, using: str | None = None) -> None:
    """Make a just-verified cameo searchable now (in this process's index, or pgvector's column). Call it
    after the FaceEmbedding row is committed; other processes find the row without it."""
    alias = using or cameo._state.db or DEFAULT_DB_ALIAS
    embedding = FaceEmbedding.objects.using(alias).filter(cameo_id=cameo.pk).values_list("vector", flat=True)
    raw = embedding.first()
    if raw is None:
        raise ValueError(f"Cameo {cameo.pk} has no face embedding to index.")
    get_index(using=alias).upsert(cameo.pk, cameo.owner_id, vector_from_bytes(raw))


def unindex_cameo(cameo_id: int, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Stop matching a cameo being erased, in this process at once (others drop it when they meet it, or at
    their next sweep; none returns it once its row is gone)."""
    get_index(using=using).remove(cameo_id)
