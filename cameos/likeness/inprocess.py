"""The in-process likeness index: an HNSW graph (usearch) in this process's memory, mirroring the
FaceEmbedding table. Used where the database has no pgvector (SQLite, a PostgreSQL without the extension).

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

Imported lazily (it imports numpy and usearch): only `get_index` loads it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable

import numpy as np
from django.db import DEFAULT_DB_ALIAS, connections
from usearch.index import Index

from cameos.likeness.base import DIMENSIONS, Neighbor, as_face_vector, vector_from_bytes
from cameos.models import Cameo, CameoKind, CameoStatus, FaceEmbedding

GAP_WINDOW = 1_000  # ids below the high-water mark watched for late commits (more than concurrent writers)
_BATCH = 10_000  # rows read and added per round trip while loading
_SLACK = 8  # extra candidates per search, for stale or unverified entries met on the way
# The embedding rows joined to their cameo, as the hot path reads them (plain SQL, see `_rows`).
_FROM = (
    f"FROM {FaceEmbedding._meta.db_table} fe JOIN {Cameo._meta.db_table} c"
    f" ON c.{Cameo._meta.pk.column} = fe.{FaceEmbedding._meta.get_field('cameo').column}"
)
_Row = tuple[int, int, int, int, bytes]


class InProcessIndex:
    """HNSW (usearch, squared-L2 metric) keyed by cameo id, with the owner of each entry kept beside it so
    that a user's own cameo is skipped without a database round trip.

    `connectivity`, `expansion_add` and `expansion_search` are HNSW's M, efConstruction and efSearch;
    `dtype` is how the graph stores vectors. Half precision ("f16") by default: on dlib-shaped vectors it
    found the same neighbours as float32 at 100k and 300k, while building and searching about twice as
    fast (half the memory traffic); int8 was faster still but lost recall on the hard case (a stranger's
    nearest lookalike). The graph only proposes candidates: they are re-ranked by the exact float32
    distance of their stored vectors, so the reported distance never carries the rounding. Figures at 1M
    on 2 shared cores are in bench/RESULTS.md (`bench/likeness.py`); the cold start there (read every row,
    build the graph) takes tens of minutes per process: past a few hundred thousand cameos, use pgvector.
    Below `exact_below` entries the search is exact (a SIMD scan: under a millisecond at 20k), because a
    graph built by parallel inserts is not deterministic and can miss a neighbour even with efSearch above
    its size."""

    def __init__(
        self,
        *,
        using: str = DEFAULT_DB_ALIAS,
        sweep_seconds: float = 60.0,
        gap_ttl_seconds: float = 600.0,
        connectivity: int = 32,
        expansion_add: int = 128,
        expansion_search: int = 768,
        dtype: str = "f16",
        exact_below: int = 20_000,
    ) -> None:
        self.using = using
        self.sweep_seconds = sweep_seconds
        self.gap_ttl_seconds = gap_ttl_seconds
        self.exact_below = exact_below
        self._lock = threading.RLock()
        self._index = Index(
            ndim=DIMENSIONS,
            metric="l2sq",
            dtype=dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        self._entries: dict[int, tuple[int | None, int]] = {}  # cameo id -> (FaceEmbedding id, owner id)
        self._owner_counts: Counter[int] = Counter()
        self._high_water = 0  # the highest FaceEmbedding id read
        self._gaps: dict[int, float] = {}  # unseen FaceEmbedding id below the high-water mark -> give up at
        self._swept_at: float | None = None

    def __len__(self) -> int:
        return len(self._index)

    # -- writes -------------------------------------------------------------------------------------------

    def upsert(self, cameo_id: int, owner_id: int, vector: np.ndarray) -> None:
        """Searchable at once in this process; other processes pick the row up from the table."""
        array = as_face_vector(vector)
        with self._lock:
            self._add([(None, cameo_id, owner_id, array)])

    def remove(self, cameo_id: int) -> None:
        with self._lock:
            self._drop([cameo_id])

    def _add(self, rows: Iterable[tuple[int | None, int, int, np.ndarray]]) -> None:
        """(FaceEmbedding id or None, cameo id, owner id, vector) rows, replacing entries of the same cameo."""
        rows = list(rows)
        if not rows:
            return
        latest = {cameo_id: (row_id, owner_id, vector) for row_id, cameo_id, owner_id, vector in rows}
        self._drop([cameo_id for cameo_id in latest if cameo_id in self._entries])
        keys = np.fromiter(latest, dtype=np.uint64, count=len(latest))
        self._index.add(keys, np.stack([vector for _, _, vector in latest.values()]))
        for cameo_id, (row_id, owner_id, _) in latest.items():
            self._entries[cameo_id] = (row_id, owner_id)
            self._owner_counts[owner_id] += 1

    def _drop(self, cameo_ids: Iterable[int]) -> None:
        for cameo_id in cameo_ids:
            entry = self._entries.pop(cameo_id, None)
            if entry is None:
                continue
            self._index.remove(cameo_id)
            self._owner_counts[entry[1]] -= 1
            if self._owner_counts[entry[1]] <= 0:
                del self._owner_counts[entry[1]]

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
            for cameo_id, (row_id, _) in self._entries.items()
            if cameo_id not in table or (row_id is not None and table[cameo_id] != row_id)
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
        """Candidates from the graph, then checked and re-ranked against the table; when checking leaves
        fewer than `k` (stale or unverified entries), it asks the graph for four times as many, until the
        index is exhausted."""
        query = as_face_vector(vector)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        self.refresh()
        with self._lock:
            size = len(self._index)
            own = 0 if exclude_owner_id is None else self._owner_counts[exclude_owner_id]
            fetch = min(size, k + own + _SLACK)
            neighbours: list[Neighbor] = []
            while fetch > 0:
                exact = size < self.exact_below
                keys = [int(key) for key in self._index.search(query, fetch, exact=exact).keys]
                candidates = [key for key in keys if self._entries[key][1] != exclude_owner_id]
                neighbours = self._check(candidates, query, exclude_owner_id)
                if len(neighbours) >= k or fetch >= size:
                    break
                size = len(self._index)
                fetch = min(size, fetch * 4)
            return neighbours[:k]

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
