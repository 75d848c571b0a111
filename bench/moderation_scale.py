"""The moderation queue at scale: 100,000 open cases with their reports and flags, and 1,000,000 audit
entries, in PostgreSQL.

Run: ``nice .venv/bin/python bench/moderation_scale.py [--cases 100000] [--audit 1000000] [--samples 500]
[--no-write]`` (``--cases 10000 --audit 100000 --samples 100`` checks it in seconds). Never run by the test
suite.

1. Seed. The database `sora_bench_mod` is dropped, created and migrated, then filled by COPY (psycopg, not
   the ORM) and ANALYZEd: 20,000 users and 20 moderators; `--cases` unresolved cases (60% on videos, 25% on
   accounts, 15% on cameos; opened over 60 days; 3% under a live claim, 2% under an expired one), 70% of
   them opened by reports (1 to 20, geometric, one report flag each with its reason's severity), the rest
   by automatic flags (prompt policy, output check, likeness match), some with both; 1.5 x `--cases`
   resolved cases (with a report each) as history; `--audit` audit entries over a year (flags raised,
   claims, releases, decisions, notes). Each case's priority, report count and queue key are what
   `moderation.services.flag_target` would have stored.
2. Server time through Django's test client, a moderator's session per request, SQL queries counted: the
   queue's first page (default filter, `status=open`, `reason=minor_safety`, `source=likeness_match`), the
   page after a deep cursor (10,000 to 90,000 cases in), a case's page (its reports, flags, earlier cases
   on the same target and user), claiming a case (each sample a different open case), and the audit log's
   first page (all, and filtered by a moderator's username).

Writes the "## Moderation queue at scale (moderation issue)" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pg_scale import (
    Loader,
    Samples,
    django_environment,
    load,
    machine,
    recreate_database,
    timed_get,
    timestamps,
    with_notes,
)

DATABASE = "sora_bench_mod"
SECTION = "## Moderation queue at scale (moderation issue)"
DAY = 86_400
USERS = 20_000
MODERATORS = 20
AUTOMATIC = [("prompt_policy", "policy_blocked_category", 80), ("output_check", "output_needs_review", 85),
             ("likeness_match", "likeness_match", 95)]  # fmt: skip


def seed(cases: int, audit: int, rng: np.random.Generator) -> dict[str, object]:
    from django.contrib.auth.hashers import make_password
    from django.contrib.contenttypes.models import ContentType

    from moderation.models import REPORT_SEVERITY
    from moderation.queue import queue_key

    loader = Loader(DATABASE)
    password = make_password("bench-password-1")
    total_users = USERS + MODERATORS
    loader.copy(
        "accounts_user",
        ["id", "password", "is_superuser", "is_staff", "is_active", "date_joined", "username", "email",
         "display_name", "birth_date"],
        (
            f"{u}\t{password}\tf\tf\tt\t{timestamps(np.zeros(1))[0]}\t{'mod' if u > USERS else 'u'}{u}\t"
            f"u{u}@bench.invalid\tUser {u}\t1990-01-01"
            for u in range(1, total_users + 1)
        ),
    )  # fmt: skip
    kinds = {
        "video": ContentType.objects.get(app_label="generation", model="generation").pk,
        "account": ContentType.objects.get(app_label="accounts", model="user").pk,
        "cameo": ContentType.objects.get(app_label="cameos", model="cameo").pk,
    }
    reasons = list(REPORT_SEVERITY)
    reason_p = np.array([0.04, 0.08, 0.14, 0.1, 0.1, 0.2, 0.1, 0.24])  # in REPORT_SEVERITY's order

    # unresolved cases, then resolved ones
    resolved = int(cases * 1.5)
    total = cases + resolved
    is_open = np.arange(total) < cases
    kind = rng.choice(list(kinds), total, p=[0.6, 0.25, 0.15])
    subject = rng.integers(1, USERS + 1, total)
    target = np.where(kind == "account", subject, rng.integers(1, 5_000_000, total))
    # one unresolved case per target: make targets of open cases distinct per kind
    target = np.where(is_open & (kind != "account"), np.arange(total) * 7 + 11, target)
    opened_ago = np.where(is_open, rng.uniform(0, 60 * DAY, total), rng.uniform(60 * DAY, 365 * DAY, total))
    report_count = np.where(rng.random(total) < 0.7, np.minimum(rng.geometric(0.45, total), 20), 0)
    report_count[~is_open] = 1
    automatic = (report_count == 0) | (rng.random(total) < 0.1)
    automatic &= is_open
    auto_kind = rng.integers(0, len(AUTOMATIC), total)
    account_open = is_open & (kind == "account")
    # an account has at most one unresolved case: drop the duplicates' account kind to video
    _, first = np.unique(subject[account_open], return_index=True)
    duplicate = np.ones(account_open.sum(), dtype=bool)
    duplicate[first] = False
    moved = np.flatnonzero(account_open)[duplicate]
    kind[moved] = "video"
    target[moved] = moved * 7 + 11

    report_case = np.repeat(np.arange(total), report_count)
    report_reason = rng.choice(len(reasons), len(report_case), p=reason_p)
    reporter = rng.integers(1, USERS + 1, len(report_case))
    keys = np.unique(report_case.astype(np.int64) * (USERS + 1) + reporter, return_index=True)[1]
    report_case, report_reason, reporter = report_case[keys], report_reason[keys], reporter[keys]
    report_count = np.bincount(report_case, minlength=total)
    severity = np.array([REPORT_SEVERITY[r] for r in reasons])
    priority = np.zeros(total, dtype=np.int64)
    np.maximum.at(priority, report_case, severity[report_reason])
    auto_priority = np.array([p for _, _, p in AUTOMATIC])[auto_kind]
    priority = np.where(automatic, np.maximum(priority, auto_priority), priority)
    opened = timestamps(opened_ago)
    now = time.time()
    keys_q = [
        queue_key(opened_at=_dt(now - ago), priority=int(p), report_count=int(r))
        for ago, p, r in zip(opened_ago.tolist(), priority.tolist(), report_count.tolist(), strict=True)
    ]
    claim = rng.random(total)
    status = np.where(~is_open, "resolved", np.where(claim < 0.05, "claimed", "open"))
    claim_expiry = np.where(claim < 0.03, -600.0, 600.0)  # seconds ago: live, or expired 10 min ago
    claim_expires = timestamps(claim_expiry)
    moderator = rng.integers(USERS + 1, total_users + 1, total)
    resolved_at = timestamps(opened_ago - DAY)

    def case_lines():
        for i in range(total):
            st = status[i]
            claimed = st == "claimed"
            yield (
                f"{i + 1}\t{kinds[kind[i]]}\t{target[i]}\t{st}\t{subject[i]}\t{priority[i]}\t{report_count[i]}\t"
                f"{keys_q[i]}\t{moderator[i] if claimed else NULL}\t{claim_expires[i] if claimed else NULL}\t"
                f"{opened[i]}\t{opened[i]}\t{resolved_at[i] if st == 'resolved' else NULL}"
            )

    loader.copy(
        "moderation_case",
        ["id", "target_type_id", "target_id", "status", "subject_id", "priority", "report_count", "queue_key",
         "claimed_by_id", "claim_expires_at", "opened_at", "updated_at", "resolved_at"],
        case_lines(),
    )  # fmt: skip
    loader.copy(
        "moderation_report",
        ["id", "reporter_id", "case_id", "target_type_id", "target_id", "reason", "text", "status", "outcome",
         "created_at", "resolved_at"],
        (
            f"{n}\t{who}\t{c + 1}\t{kinds[kind[c]]}\t{target[c]}\t{reasons[r]}\tplease look at this\t"
            f"{'open' if is_open[c] else 'resolved'}\t{'' if is_open[c] else 'dismissed'}\t{opened[c]}\t"
            f"{NULL if is_open[c] else resolved_at[c]}"
            for n, (c, r, who) in enumerate(
                zip(report_case.tolist(), report_reason.tolist(), reporter.tolist(), strict=True), start=1
            )
        ),
    )  # fmt: skip
    flag_case = np.concatenate([report_case, np.flatnonzero(automatic)])
    flag_source = ["report"] * len(report_case) + [AUTOMATIC[k][0] for k in auto_kind[automatic].tolist()]
    flag_reason = [reasons[r] for r in report_reason.tolist()] + [
        AUTOMATIC[k][1] for k in auto_kind[automatic].tolist()
    ]
    flag_priority = np.concatenate([severity[report_reason], auto_priority[automatic]])
    loader.copy(
        "moderation_flag",
        ["id", "case_id", "source", "reason", "evidence", "priority", "created_at"],
        (
            f"{n}\t{c + 1}\t{s}\t{r}\t{{\"score\": 0.91}}\t{p}\t{opened[c]}"
            for n, (c, s, r, p) in enumerate(
                zip(flag_case.tolist(), flag_source, flag_reason, flag_priority.tolist(), strict=True), start=1
            )
        ),
    )  # fmt: skip

    actions = np.array(["flag.raised", "case.claimed", "case.decided", "case.released", "note.added"])
    action = rng.choice(len(actions), audit, p=[0.4, 0.25, 0.2, 0.05, 0.1])
    actor = rng.integers(USERS + 1, total_users + 1, audit)
    audit_case = rng.integers(1, total + 1, audit)
    loader.copy(
        "moderation_auditentry",
        ["id", "created_at", "actor_id", "actor_username", "action", "case_id", "target_type", "target_id",
         "reason", "details"],
        (
            f"{n}\t{t}\t{NULL if a == 0 else m}\t{'' if a == 0 else f'mod{m}'}\t{actions[a]}\t{c}\t"
            f"{kind[c - 1]}\t{target[c - 1]}\t\t{{}}"
            for n, (t, a, m, c) in enumerate(
                zip(timestamps(np.sort(rng.uniform(0, 365 * DAY, audit))[::-1]), action.tolist(), actor.tolist(),
                    audit_case.tolist(), strict=True),
                start=1,
            )
        ),
    )  # fmt: skip
    analyze_s = loader.finish(
        ["accounts_user", "moderation_case", "moderation_report", "moderation_flag", "moderation_auditentry"]
    )
    loader.connection.close()
    return {"rows": loader.rows, "seconds": loader.seconds, "analyze_s": analyze_s}


NULL = "\\N"  # COPY's null


def _dt(epoch: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


def drf_cursor(position: int) -> str:
    """A cursor as DRF's CursorPagination writes it, at a queue key (ordering ("queue_key", "id"))."""
    return base64.b64encode(urlencode({"p": str(position)}).encode()).decode()


def measure(samples: int, rng: np.random.Generator) -> dict[str, Samples]:
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from moderation.models import Case, CaseStatus

    moderators = list(User.objects.filter(username__startswith="mod").order_by("pk"))
    for moderator in moderators:
        call_command("moderation_role", "grant", moderator.username, "moderator", stdout=io.StringIO())
    call_command("moderation_role", "grant", moderators[0].username, "admin", stdout=io.StringIO())
    clients = []
    for moderator in moderators:
        client = Client()
        client.force_login(moderator)
        clients.append(client)
    unresolved = list(
        Case.objects.exclude(status=CaseStatus.RESOLVED)
        .order_by("queue_key", "id")
        .values_list("queue_key", flat=True)
    )
    open_ids = list(Case.objects.filter(status=CaseStatus.OPEN).values_list("pk", flat=True))
    to_claim = rng.choice(open_ids, min(samples, len(open_ids)), replace=False).tolist()
    detail_ids = rng.choice(open_ids, samples).tolist()
    results = {
        name: Samples()
        for name in [
            "queue, first page",
            "queue, deep cursor (10k-90k in)",
            "queue, first page, status=open",
            "queue, first page, reason=minor_safety",
            "queue, first page, source=likeness_match",
            "claim (POST .../claim/)",
            "case page (GET .../cases/<id>/)",
            "audit log, first page",
            "audit log, first page, actor=<moderator>",
        ]
    }
    for client in clients:  # warm up
        client.get("/api/v1/moderation/cases/")
    for index in range(samples):
        client = clients[index % len(clients)]
        depth = int(len(unresolved) * rng.uniform(0.1, 0.9))
        urls = [
            "/api/v1/moderation/cases/",
            f"/api/v1/moderation/cases/?cursor={drf_cursor(unresolved[depth])}",
            "/api/v1/moderation/cases/?status=open",
            "/api/v1/moderation/cases/?reason=minor_safety",
            "/api/v1/moderation/cases/?source=likeness_match",
        ]
        for name, url in zip(results, urls, strict=False):
            timed_get(client, url, results[name])
        timed_get(
            client,
            f"/api/v1/moderation/cases/{to_claim[index]}/claim/",
            results["claim (POST .../claim/)"],
            method="post",
        )
        timed_get(
            client,
            f"/api/v1/moderation/cases/{detail_ids[index]}/",
            results["case page (GET .../cases/<id>/)"],
        )
        timed_get(clients[0], "/api/v1/moderation/audit/", results["audit log, first page"])
        actor = moderators[index % len(moderators)].username
        timed_get(
            clients[0],
            f"/api/v1/moderation/audit/?actor={actor}",
            results["audit log, first page, actor=<moderator>"],
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--no-seed", action="store_true", help="measure the database the last run seeded")
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/RESULTS.md alone")
    args = parser.parse_args()
    command = "bench/moderation_scale.py " + " ".join(sys.argv[1:])
    rng = np.random.default_rng(13)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-mod-"))
    os.environ.update(django_environment(DATABASE, data_dir))
    load_at_start = load()
    started = time.perf_counter()
    if not args.no_seed:
        recreate_database(DATABASE)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    from core.embedded import EmbeddedRedis

    setup_test_environment()
    redis = EmbeddedRedis(data_dir / "redis.sock")
    redis.start()
    seeded = None
    try:
        if not args.no_seed:
            call_command("migrate", interactive=False, verbosity=0)
            seeded = seed(args.cases, args.audit, rng)
            seeded["total_s"] = time.perf_counter() - started
            print(f"seeded in {seeded['total_s']:.0f} s: {seeded['rows']}", flush=True)
        results = measure(args.samples, rng)
    finally:
        from django.db import connections

        connections.close_all()
        redis.stop()
    load_at_end = load()

    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{command}`. Machine: {machine()}; "
        f"2 cores shared with other helpers' test runs (load average (1, 5, 15 min) {load_at_start} at the "
        f"start, {load_at_end} at the end).",
        "",
    ]
    if seeded:
        lines += [
            f"Seed: {seeded['total_s']:.0f} s in all (ANALYZE {seeded['analyze_s']:.0f} s); rows: "
            + ", ".join(f"{table} {count:,}" for table, count in seeded["rows"].items())
            + ".",
            "",
        ]
    lines += [
        f"Each line: {args.samples} requests through Django's test client with a moderator's session "
        "(middleware, session authentication, the permission check, selector, serializer, JSON; not the "
        "socket). *queries* counts every SQL query of the request. Goal (issue 13): p50 < 30 ms and constant "
        "queries per page for the queue (first page and a deep cursor) and the claim.",
        "",
        "| request | p50 ms | p99 ms | max ms | Python CPU p50 ms | SQL p50 ms | queries | statuses |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, samples in results.items():
        s = samples.summary()
        lines.append(
            f"| {name} | {s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.1f} | {s['cpu_p50']:.1f} | {s['sql_p50']:.1f} | {s['queries']} | "
            f"{', '.join(map(str, sorted(samples.statuses)))} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        from bench.results_file import write_section

        write_section(SECTION, with_notes(SECTION, text))


if __name__ == "__main__":
    main()
