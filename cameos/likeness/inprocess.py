"""The in-process likeness index: every verified face vector in this process's memory, searched by a full
scan of product-quantised codes (faiss fast-scan PQ) and an exact re-rank, mirroring the FaceEmbedding
table. Used where the database has no pgvector (SQLite, a PostgreSQL without the extension).

Why a scan and not a graph: an HNSW graph (usearch, until 2026-11-26) visits a few thousand nodes per query,
but at 1M rows some nodes are linked poorly enough that no search reaches them, which capped recall@1 near
0.99, and building it took most of an hour per process on two cores. A fast-scan PQ code is 32 bytes per
face (64 sub-vectors of 2 dimensions, 4 bits each), so scanning all of them is a pass over 32 MB with
SIMD look-up tables: a millisecond or two at 1M, every row is looked at (nothing is unreachable), and the
index builds in seconds. The few hundred best codes (512) are re-ranked by their half-precision vectors, and the
best of those are checked against the table and re-ranked by their stored float32 vectors. Figures:
bench/RESULTS.md (`bench/likeness.py`).

How it stays correct across processes (every web and worker process has its own copy):

* New rows, by id. Each `refresh` (run before every search) reads the rows with an id above the highest id
  seen so far, through the primary key, a page at a time: one plain query, a fraction of a millisecond
  when nothing is new. On PostgreSQL a
  sequence value is taken at INSERT but becomes visible at COMMIT, so a lower id can appear after a higher
  one: ids missing just below the high-water mark (the last `GAP_WINDOW` ids) are remembered as gaps and
  asked for again on every refresh for `gap_ttl_seconds` (far longer than a verification transaction).
* Deletions, two ways. A search never trusts the index alone: its candidates are re-read from the table
  (existence, verified person cameo, owner, stored vector), so a cameo erased by another process is never
  returned, and such a stale entry is dropped from the index when met. And every `sweep_seconds` a sweep
  compares the index with the table's (id, cameo_id) pairs, dropping what is gone or was replaced and adding
  anything the id scan missed (a gap older than its time to live).
* Rows are treated as write-once: a vector changed in place under the same row id reaches another
  process's index only through a replaced row (new id) or a rebuild; distances are always recomputed from
  the stored bytes, so a stale entry can only cost recall, never give a wrong distance.

Imported lazily (it imports numpy and faiss): only `get_index` loads it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable

import faiss
import numpy as np
from django.db import DEFAULT_DB_ALIAS, connections

from cameos.likeness.base import DIMENSIONS, Neighbor, as_face_vector, vector_from_bytes
from cameos.models import Cameo, CameoKind, CameoStatus, FaceEmbedding

GAP_WINDOW = 1_000  # ids below the high-water mark watched for late commits (more than concurrent writers)
_BATCH = 10_000  # rows read and added per round trip while loading
_SLACK = 8  # extra candidates per search, for stale or unverified entries met on the way
_PQ = "PQ64x4fs"  # faiss factory string: 64 sub-quantisers of 2 dimensions, 4-bit codes, fast-scan layout
_TRAIN_SAMPLE = 32_768  # vectors the quantiser is trained on, at most (16 centroids per sub-quantiser)
_TRAIN_MIN = 64  # never quantise fewer live entries than this (k-means needs points to place 16 centroids)
# The embedding rows joined to their cameo, as the hot path reads them (plain SQL, see `_rows`).
_FROM = (
    f"FROM {FaceEmbedding._meta.db_table} fe JOIN {Cameo._meta.db_table} c"
    f" ON c.{Cameo._meta.pk.column} = fe.{FaceEmbedding._meta.get_field('cameo').column}"
)
_Row = tuple[int, int, int, int, bytes]

# One query's scan runs on one core (faiss parallelises over queries, and a search has one); OpenMP's
# worker threads only spin, and on a busy machine they made training the quantiser 50x slower (measured:
# 24 s instead of 0.3 s on two shared cores). This process's only faiss user is this module.
faiss.omp_set_num_threads(1)


class InProcessIndex:
    """The face vectors of every indexed cameo, in slots: `_vectors` (half precision), `_cameos` and
    `_owners` per slot (cameo id -1: a dead slot, left by a removal or a replacement until the next
    compaction), and, once there are `exact_below` live entries, `_codes`, a trained faiss fast-scan PQ
    index whose i-th code is slot i. The owner of each entry is kept so that a user's own cameo is skipped
    without a database round trip.

    A search takes the `rerank` best codes (at least; more when many candidates are asked for), re-ranks
    them by their half-precision vectors, and checks the best against the table. Below `exact_below` live
    entries it scans the vectors themselves (exact). The quantiser is trained on a sample of the live
    vectors when the index first reaches `exact_below`, and again when it has grown `retrain_growth`-fold
    or at a compaction (when dead slots pass `compact_fraction` of all): a few seconds at 1M rows."""

    def __init__(
        self,
        *,
        using: str = DEFAULT_DB_ALIAS,
        sweep_seconds: float = 60.0,
        gap_ttl_seconds: float = 600.0,
        exact_below: int = 20_000,
        rerank: int = 512,
        retrain_growth: float = 4.0,
        compact_fraction: float = 0.1,
    ) -> None:
        self.using = using
        self.sweep_seconds = sweep_seconds
        self.gap_ttl_seconds = gap_ttl_seconds
        self.exact_below = exact_below
        self.rerank = rerank
        self.retrain_growth = retrain_growth
        self.compact_fraction = compact_fraction
        self._lock = threading.RLock()
        self._vectors = np.empty((0, DIMENSIONS), dtype=np.float16)  # (capacity, 128) by slot
        self._cameos = np.empty(0, dtype=np.int64)  # (capacity,) cameo id by slot, -1 when dead
        self._owners = np.empty(0, dtype=np.int64)  # (capacity,) owner id by slot
        self._used = 0  # slots in use, live or dead
        self._codes: faiss.Index | None = None  # PQ codes of slots [0, _used) once trained
        self._trained_at = 0  # live entries when the quantiser was last trained
        self._row_ids = np.empty(0, dtype=np.int64)  # (capacity,) FaceEmbedding id by slot, -1 if unknown
        # cameo id -> slot; what belongs to a slot lives in the arrays (84 MiB less at 1M than tuples here)
        self._entries: dict[int, int] = {}
        self._owner_counts: Counter[int] = Counter()
        self._high_water = 0  # the highest FaceEmbedding id read
        self._gaps: dict[int, float] = {}  # unseen FaceEmbedding id below the high-water mark -> give up at
        self._swept_at: float | None = None

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def quantised(self) -> bool:
        """Whether searches scan PQ codes (True) or the vectors themselves (False: below `exact_below`)."""
        return self._codes is not None

    # -- writes -------------------------------------------------------------------------------------------

    def upsert(self, cameo_id: int, owner_id: int, vector: np.ndarray) -> None:
        """Searchable at once in this process; other processes pick the row up from the table."""
        array = as_face_vector(vector)
        with self._lock:
            self._add([(None, cameo_id, owner_id, array)])

    def remove(self, cameo_id: int) -> None:
        with self._lock:
            self._drop([cameo_id])
            self._maintain()

    def _add(self, rows: Iterable[tuple[int | None, int, int, np.ndarray]]) -> None:
        """(FaceEmbedding id or None, cameo id, owner id, vector) rows, replacing entries of the same cameo."""
        rows = list(rows)
        if not rows:
            return
        latest = {cameo_id: (row_id, owner_id, vector) for row_id, cameo_id, owner_id, vector in rows}
        self._drop([cameo_id for cameo_id in latest if cameo_id in self._entries])
        count, first = len(latest), self._used
        self._reserve(first + count)
        vectors = np.stack([vector for _, _, vector in latest.values()])  # (count, 128) float32
        self._vectors[first : first + count] = vectors
        self._cameos[first : first + count] = np.fromiter(latest, dtype=np.int64, count=count)
        self._owners[first : first + count] = [owner_id for _, owner_id, _ in latest.values()]
        self._used += count
        self._row_ids[first : first + count] = [
            -1 if row_id is None else row_id for row_id, _, _ in latest.values()
        ]
        for slot, (cameo_id, (_, owner_id, _)) in enumerate(latest.items(), start=first):
            self._entries[cameo_id] = slot
            self._owner_counts[owner_id] += 1
        if self._codes is not None:
            self._codes.add(vectors)
        self._maintain()

    def _reserve(self, slots: int) -> None:
        capacity = len(self._cameos)
        if slots <= capacity:
            return
        capacity = max(slots, 2 * capacity, 1024)
        self._vectors = np.resize(self._vectors, (capacity, DIMENSIONS))
        self._cameos = np.resize(self._cameos, capacity)
        self._owners = np.resize(self._owners, capacity)
        self._row_ids = np.resize(self._row_ids, capacity)

    def _drop(self, cameo_ids: Iterable[int]) -> None:
        for cameo_id in cameo_ids:
            slot = self._entries.pop(cameo_id, None)
            if slot is None:
                continue
            owner_id = int(self._owners[slot])
            self._cameos[slot] = -1
            self._owner_counts[owner_id] -= 1
            if self._owner_counts[owner_id] <= 0:
                del self._owner_counts[owner_id]

    def _maintain(self) -> None:
        """Compact when dead slots pile up; (re)train the quantiser when the index reaches `exact_below` or
        has grown `retrain_growth`-fold since it was trained; drop it when the index shrinks back below."""
        live, dead = len(self._entries), self._used - len(self._entries)
        if dead and dead >= self.compact_fraction * self._used:
            keep = np.flatnonzero(self._cameos[: self._used] >= 0)
            self._vectors[:live] = self._vectors[keep]
            self._cameos[:live] = self._cameos[keep]
            self._owners[:live] = self._owners[keep]
            self._row_ids[:live] = self._row_ids[keep]
            self._used = live
            self._entries = {cameo_id: slot for slot, cameo_id in enumerate(self._cameos[:live].tolist())}
            self._codes = None  # re-encoded below, with a quantiser trained on what is left
        if live < max(self.exact_below, _TRAIN_MIN):
            self._codes = None
        elif self._codes is None or live >= self.retrain_growth * self._trained_at:
            vectors = self._vectors[: self._used].astype(np.float32)
            sample = np.random.default_rng(0).permutation(self._used)[:_TRAIN_SAMPLE]
            codes = faiss.index_factory(DIMENSIONS, _PQ)
            codes.train(vectors[np.sort(sample)])
            codes.add(vectors)
            self._codes, self._trained_at = codes, live

    # -- catching up with the table -----------------------------------------------------------------------

    def refresh(self) -> None:
        with self._lock:
            if self._swept_at is None:
                self._pull_new()  # the first build reads every row once, in id order
                self._swept_at = time.monotonic()
            elif time.monotonic() - self._swept_at >= self.sweep_seconds:
                self._sweep()
            else:
                self._pull_new()

    def _rows(self, ids_above: int = 0, ids: list[int] | None = None) -> list[_Row]:
        """(id, cameo id, owner id, dimensions, vector) of the rows with an id above `ids_above` (at most
        `_BATCH`, the next page in id order) or with an id in `ids`. Plain SQL: it runs before every
        search, where the ORM's query building cost as much as the query (and `.iterator()` would take a
        server-side cursor on PostgreSQL: three round trips)."""
        if ids is not None and not ids:
            return []
        if ids is not None:
            where, params = f"fe.id IN ({', '.join(['%s'] * len(ids))})", list(ids)
        else:
            where, params = f"fe.id > %s ORDER BY fe.id LIMIT {_BATCH}", [ids_above]
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT fe.id, fe.cameo_id, c.owner_id, fe.dimensions, fe.vector {_FROM} WHERE {where}",
                params,
            )
            return cursor.fetchall()

    def _load(self, rows: Iterable[tuple[int, int, int, int, bytes]]) -> set[int]:
        """Add `rows` in batches; the FaceEmbedding ids read (of any dimension) come back."""
        seen: set[int] = set()
        batch: list[tuple[int | None, int, int, np.ndarray]] = []
        for row_id, cameo_id, owner_id, dimensions, raw in rows:
            seen.add(row_id)
            if dimensions == DIMENSIONS:
                batch.append((row_id, cameo_id, owner_id, vector_from_bytes(raw)))
            if len(batch) >= _BATCH:
                self._add(batch)
                batch = []
        self._add(batch)
        return seen

    def _pull_new(self) -> None:
        """The rows above the high-water mark, a page of `_BATCH` at a time by id (keyset pagination), and
        the remembered gaps."""
        now = time.monotonic()
        self._gaps = {row_id: deadline for row_id, deadline in self._gaps.items() if deadline > now}
        seen = self._load(self._rows(ids=list(self._gaps))) if self._gaps else set()
        after = self._high_water
        while True:
            page = self._rows(ids_above=after)
            seen |= self._load(page)
            if len(page) < _BATCH:
                break
            after = page[-1][0]
        for row_id in seen:
            self._gaps.pop(row_id, None)
        new_high = max(seen, default=self._high_water)
        if new_high > self._high_water:
            watched_from = max(self._high_water, new_high - GAP_WINDOW) + 1
            for row_id in range(watched_from, new_high):
                if row_id not in seen:
                    self._gaps[row_id] = now + self.gap_ttl_seconds
            self._high_water = new_high

    def _sweep(self) -> None:
        """Compare with the whole table: one (id, cameo_id) pair per row, about 0.5 s at 1M rows."""
        table = dict(
            FaceEmbedding.objects.using(self.using)
            .filter(dimensions=DIMENSIONS)
            .values_list("cameo_id", "id")
            .iterator(chunk_size=_BATCH)
        )
        replaced_or_gone = [
            cameo_id
            for cameo_id, slot in self._entries.items()
            if cameo_id not in table or (self._row_ids[slot] >= 0 and table[cameo_id] != self._row_ids[slot])
        ]
        self._drop(replaced_or_gone)
        missing = [row_id for cameo_id, row_id in table.items() if cameo_id not in self._entries]
        for start in range(0, len(missing), _BATCH):
            self._load(self._rows(ids=missing[start : start + _BATCH]))
        self._gaps.clear()
        self._high_water = max(self._high_water, max(table.values(), default=0))
        self._swept_at = time.monotonic()

    # -- search -------------------------------------------------------------------------------------------

    def nearest(self, vector: np.ndarray, k: int, exclude_owner_id: int | None = None) -> list[Neighbor]:
        """Candidates from the scan, then checked and re-ranked against the table; when checking leaves fewer
        than `k` (stale or unverified entries), it asks for four times as many, until the index is
        exhausted."""
        query = as_face_vector(vector)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        self.refresh()
        with self._lock:
            size = len(self._entries)
            own = 0 if exclude_owner_id is None else self._owner_counts[exclude_owner_id]
            fetch = min(size, k + own + _SLACK)
            neighbours: list[Neighbor] = []
            while fetch > 0:
                slots = self._candidates(query, fetch)
                candidates = [
                    int(cameo_id)
                    for cameo_id, owner_id in zip(self._cameos[slots], self._owners[slots], strict=True)
                    if owner_id != exclude_owner_id
                ]
                neighbours = self._check(candidates, query, exclude_owner_id)
                if len(neighbours) >= k or fetch >= size:
                    break
                size = len(self._entries)
                fetch = min(size, fetch * 4)
            return neighbours[:k]

    def _candidates(self, query: np.ndarray, count: int) -> np.ndarray:
        """Slots of the `count` live entries nearest to `query`, nearest first, by half-precision distance:
        among the best `rerank` (or 4 x `count`) PQ codes, or among all slots below `exact_below` live entries
        or when that many codes would be most of them."""
        used, wanted = self._used, max(self.rerank, 4 * count)
        if self._codes is None or wanted >= used:
            slots = np.arange(used)
        else:
            _, found = self._codes.search(query[None], wanted)  # (1, wanted) slots, -1 past the end
            slots = found[0][found[0] >= 0]
        slots = slots[self._cameos[slots] >= 0]
        differences = self._vectors[slots].astype(np.float32) - query  # (S, 128)
        distances = np.einsum("ij,ij->i", differences, differences)  # (S,) squared L2
        if len(slots) > count:
            best = np.argpartition(distances, count - 1)[:count]
            slots, distances = slots[best], distances[best]
        return slots[np.argsort(distances, kind="stable")]

    def _check(self, cameo_ids: list[int], query: np.ndarray, exclude_owner_id: int | None) -> list[Neighbor]:
        """The candidates that are still verified person cameos of other owners, by exact distance from
        their stored vectors; candidates whose row is gone leave the index."""
        if not cameo_ids:
            return []
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                "SELECT fe.cameo_id, c.owner_id, c.status, c.kind, fe.dimensions, fe.vector"
                f" {_FROM} WHERE fe.cameo_id IN ({', '.join(['%s'] * len(cameo_ids))})",
                cameo_ids,
            )
            rows = cursor.fetchall()
        found: set[int] = set()
        neighbours = []
        for cameo_id, owner_id, status, kind, dimensions, raw in rows:
            found.add(cameo_id)
            eligible = (
                status == CameoStatus.VERIFIED and kind == CameoKind.PERSON and dimensions == DIMENSIONS
            )
            if eligible and owner_id != exclude_owner_id:
                distance = float(np.linalg.norm(vector_from_bytes(raw) - query))
                neighbours.append(Neighbor(cameo_id=cameo_id, owner_id=owner_id, distance=distance))
        self._drop([cameo_id for cameo_id in cameo_ids if cameo_id not in found])
        return sorted(neighbours, key=lambda n: (n.distance, n.cameo_id))
