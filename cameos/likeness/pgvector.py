"""The pgvector likeness index: the `embedding vector(128)` column and its HNSW index (`vector_l2_ops`) that
migration 0002 adds to `cameos_faceembedding` where the database has pgvector.

The column is derived from the row's `vector` bytes, which stay the source of truth: `upsert` writes it
when a cameo is verified; a trigger (migration 0002) empties it whenever `vector` changes; and `refresh`,
run before every search, fills any empty one (rows written by code that never called `upsert`) through a
partial index of exactly those rows, so it costs one index probe when there is nothing to do. Deleting a
row takes it out of the HNSW index, so `remove` has nothing to do. The search is one SQL query joined to
the cameo for its status and owner, so it sees exactly what is committed, in every process.

Vectors travel as pgvector's text form; `repr` of each float32 (widened to a double) parses back to the
same float32, so nothing is lost on the way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from cameos.likeness.base import DIMENSIONS, Neighbor, as_face_vector, vector_from_bytes
from cameos.models import CameoKind, CameoStatus

if TYPE_CHECKING:
    import numpy as np

_BACKFILL_BATCH = 1_000


def is_available(connection: BaseDatabaseWrapper) -> bool:
    """Whether `connection` is a PostgreSQL with the vector extension installed and migration 0002's
    column present (an extension installed after 0002 ran needs `migrate cameos 0001 && migrate cameos`)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')"
            " AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('cameos_faceembedding')"
            " AND attname = 'embedding' AND NOT attisdropped)"
        )
        return bool(cursor.fetchone()[0])


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(repr(value) for value in vector.astype("float64").tolist()) + "]"


class PgvectorIndex:
    """HNSW search in PostgreSQL. `ef_search` is HNSW's efSearch for this query (pgvector's default is 40):
    256 is the cheapest that reached recall@1 0.99 at 1M dlib-shaped vectors (bench/RESULTS.md). Iterative
    scans (pgvector >= 0.8) keep `k` results coming when the status and owner filters reject some of what
    the graph returns."""

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS, ef_search: int = 256) -> None:
        self.using = using
        self.ef_search = ef_search

    def upsert(self, cameo_id: int, owner_id: int, vector: np.ndarray) -> None:
        """Write the column of the saved row; the owner comes from the cameo at search time."""
        array = as_face_vector(vector)
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                "UPDATE cameos_faceembedding SET embedding = %s::vector WHERE cameo_id = %s",
                [vector_literal(array), cameo_id],
            )
            if cursor.rowcount == 0:
                raise ValueError(f"Cameo {cameo_id} has no FaceEmbedding row to index: save it first.")

    def remove(self, cameo_id: int) -> None:
        """Nothing to do: deleting the FaceEmbedding row removes it from the HNSW index."""

    def refresh(self) -> None:
        with connections[self.using].cursor() as cursor:
            while True:
                cursor.execute(
                    "SELECT id, vector FROM cameos_faceembedding"
                    " WHERE embedding IS NULL AND dimensions = %s ORDER BY id LIMIT %s",
                    [DIMENSIONS, _BACKFILL_BATCH],
                )
                rows = cursor.fetchall()
                if not rows:
                    return
                cursor.executemany(
                    "UPDATE cameos_faceembedding SET embedding = %s::vector WHERE id = %s",
                    [(vector_literal(vector_from_bytes(raw)), row_id) for row_id, raw in rows],
                )
                if len(rows) < _BACKFILL_BATCH:
                    return

    def nearest(self, vector: np.ndarray, k: int, exclude_owner_id: int | None = None) -> list[Neighbor]:
        query = as_face_vector(vector)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        self.refresh()
        literal = vector_literal(query)
        owner_filter = "" if exclude_owner_id is None else " AND c.owner_id <> %s"
        owner_params = [] if exclude_owner_id is None else [exclude_owner_id]
        with transaction.atomic(using=self.using), connections[self.using].cursor() as cursor:
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(max(self.ef_search, k))])
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
            cursor.execute(
                "SELECT fe.cameo_id, c.owner_id, fe.embedding <-> %s::vector AS distance"
                " FROM cameos_faceembedding fe JOIN cameos_cameo c ON c.id = fe.cameo_id"
                " WHERE fe.embedding IS NOT NULL AND c.status = %s AND c.kind = %s"
                + owner_filter
                + " ORDER BY fe.embedding <-> %s::vector LIMIT %s",
                [literal, str(CameoStatus.VERIFIED), str(CameoKind.PERSON), *owner_params, literal, k],
            )
            return [
                Neighbor(cameo_id=cameo_id, owner_id=owner_id, distance=float(distance))
                for cameo_id, owner_id, distance in cursor.fetchall()
            ]
