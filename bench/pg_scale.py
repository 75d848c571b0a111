"""What the scale benchmarks (`bench/feed_scale.py`, `bench/moderation_scale.py`) share: a dedicated
PostgreSQL database dropped and migrated afresh, bulk loading by COPY, percentiles, the machine's
description, and timing requests through Django's test client with their SQL queries counted."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# A fixed secret: the ASGI server the feed benchmark starts must accept the tokens this process signs.
BENCH_SECRET_KEY = "bench-only-secret-key-not-for-any-install-0123456789abcdefghij"
NOW = datetime.now(UTC).replace(microsecond=0)


def dsn(database: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def django_environment(database: str, data_dir: Path) -> dict[str, str]:
    """Production-like settings (DEBUG off) on the bench database."""
    return {
        "DJANGO_SETTINGS_MODULE": "sora_social.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": BENCH_SECRET_KEY,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SORA_DATA_DIR": str(data_dir),
        "DATABASE_URL": dsn(database),
        "REDIS_URL": f"unix://{data_dir / 'redis.sock'}",
        "JWT_ACCESS_MINUTES": "600",  # the load test outlives the default 5 minutes
        "LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }


def recreate_database(database: str) -> None:
    subprocess.run(["dropdb", "-h", PG_HOST, "-U", PG_USER, "--if-exists", "--force", database], check=True)
    subprocess.run(["createdb", "-h", PG_HOST, "-U", PG_USER, database], check=True)


def pg_version() -> str:
    out = subprocess.run(
        ["psql", "-h", PG_HOST, "-U", PG_USER, "-Atc", "SHOW server_version"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().split()[0]


def machine() -> str:
    with open("/proc/meminfo") as meminfo:
        kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return (
        f"{platform.machine()}, `nproc` {os.cpu_count()}, {kib / 1024**2:.0f} GiB RAM, PostgreSQL "
        f"{pg_version()} on 127.0.0.1 (default settings: shared_buffers 128MB), Python "
        f"{platform.python_version()}"
    )


def load() -> str:
    """`uptime`'s load averages (1, 5, 15 min): other helpers share these cores."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


# -- COPY ---------------------------------------------------------------------------------------------------


def timestamps(seconds_ago: np.ndarray) -> list[str]:
    """ISO timestamps `seconds_ago` before NOW, as COPY's text format reads them."""
    base = np.datetime64(NOW.replace(tzinfo=None), "us")
    values = base - (np.asarray(seconds_ago, dtype=np.float64) * 1e6).astype("timedelta64[us]")
    return [text + "+00" for text in np.datetime_as_string(values, unit="us").tolist()]


_FILLER_BY_TYPE = {
    "character varying": "",
    "text": "",
    "jsonb": "{}",
    "json": "{}",
    "boolean": "f",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "double precision": "0",
    "real": "0",
    "numeric": "0",
    "timestamp with time zone": NOW.isoformat(),
    "date": NOW.date().isoformat(),
    "uuid": "00000000-0000-0000-0000-000000000000",
}


class Loader:
    """COPY into tables with psycopg. Columns a table requires (NOT NULL, no database default) that a
    caller does not give are filled with a neutral value of their type, so that a column another change
    adds later does not break the seed. Foreign keys and triggers are not checked while loading
    (`session_replication_role = replica`): the data is consistent by construction, and checking every
    row would triple the load time."""

    def __init__(self, database: str) -> None:
        import psycopg

        self.connection = psycopg.connect(dsn(database), autocommit=True)
        self.connection.execute("SET session_replication_role = replica")
        self.seconds: dict[str, float] = {}
        self.rows: dict[str, int] = {}

    def _filler(self, table: str, columns: list[str]) -> tuple[list[str], str]:
        required = self.connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'",
            [table],
        ).fetchall()
        missing = [(name, kind) for name, kind in required if name not in columns and name != "id"]
        unknown = [kind for _, kind in missing if kind not in _FILLER_BY_TYPE]
        if unknown:
            raise RuntimeError(f"{table}: no neutral value for required columns of types {unknown}")
        suffix = "".join("\t" + _FILLER_BY_TYPE[kind] for _, kind in missing)
        return [name for name, _ in missing], suffix

    def columns(self, table: str) -> set[str]:
        """The columns `table` has (none when there is no such table): what a seed may fill depends on the
        migrations in the tree it runs from."""
        rows = self.connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s",
            [table],
        ).fetchall()
        return {name for (name,) in rows}

    def copy(self, table: str, columns: list[str], lines: Iterable[str]) -> None:
        """`lines`: rows in COPY text format (tab-separated, `\\N` for null), without the newline."""
        started = time.perf_counter()
        extra, suffix = self._filler(table, columns)
        sql = f"COPY {table} ({', '.join(columns + extra)}) FROM STDIN"
        count = 0
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            chunk: list[str] = []
            for line in lines:
                chunk.append(line + suffix + "\n")
                if len(chunk) >= 50_000:
                    copy.write("".join(chunk))
                    count += len(chunk)
                    chunk = []
            if chunk:
                copy.write("".join(chunk))
                count += len(chunk)
        self.rows[table] = self.rows.get(table, 0) + count
        self.seconds[table] = self.seconds.get(table, 0.0) + time.perf_counter() - started

    def finish(self, tables: Iterable[str]) -> float:
        """Move the id sequences past the loaded ids (so the app can insert), VACUUM and ANALYZE."""
        started = time.perf_counter()
        for table in tables:
            self.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false) "
                f"WHERE pg_get_serial_sequence('{table}', 'id') IS NOT NULL"
            )
        # VACUUM too: it sets the visibility map, without which no index-only scan is possible (autovacuum
        # does it in production).
        self.connection.execute("VACUUM ANALYZE")
        self.connection.execute("SET session_replication_role = origin")
        return time.perf_counter() - started


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def zipf_weights(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Power-law weights over n items in random order: the item of rank r weighs r^-exponent."""
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()


def unique_pairs(a: np.ndarray, b: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs with a != b."""
    keep = a != b
    keys = np.unique(a[keep].astype(np.int64) * base + b[keep])
    return keys // base, keys % base


# -- measuring ----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Samples:
    """Per request: wall time through the test client, this process's CPU time (Django, DRF, psycopg: not
    the database's), SQL queries, and the time the database took (as the client waited for it)."""

    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this process's CPU time: less sensitive to load
    queries: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)

    def summary(self) -> dict[str, float | str]:
        return {
            "n": len(self.ms),
            "p50": statistics.median(self.ms),
            "p99": percentile(self.ms, 0.99),
            "max": max(self.ms),
            "cpu_p50": statistics.median(self.cpu_ms),
            "sql_p50": statistics.median(self.sql_ms),
            "queries": _span(self.queries),
        }


def _span(values: list[int]) -> str:
    return str(min(values)) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def timed_get(client: object, url: str, samples: Samples, *, method: str = "get") -> object:
    """One request through Django's test client (the whole stack but the socket: middleware, token
    authentication, the view, serialisation, JSON rendering), its SQL captured."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The log keeps the last 9,000 queries: once full, a capture would see none.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        started, cpu_started = time.perf_counter(), time.process_time()
        response = getattr(client, method)(url)
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu_started) * 1000
    samples.ms.append(elapsed)
    samples.cpu_ms.append(cpu)
    samples.queries.append(len(captured.captured_queries))
    samples.sql_ms.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
    samples.statuses.add(response.status_code)  # type: ignore[attr-defined]
    return response


def with_notes(section: str, text: str) -> str:
    """`text` (a whole section) followed by the hand-written notes the section in bench/RESULTS.md holds
    now (between `<!-- notes -->` and `<!-- end notes -->`), which a new run keeps."""
    import re

    from bench.results_file import RESULTS

    existing = RESULTS.read_text() if RESULTS.exists() else ""
    body = re.search(rf"^{re.escape(section)}\n(.*?)(?=^## |\Z)", existing, re.M | re.S)
    notes = re.search(r"<!-- notes -->\n.*?<!-- end notes -->\n", body.group(1), re.S) if body else None
    return text.rstrip("\n") + "\n\n" + notes.group(0) if notes else text
