"""The feed's hot statements, each against what it replaced, side by side in one process on the database
`bench/feed_scale.py` seeded (`sora_bench_feed`, at whatever scale it was last seeded):

- the visibility rule over a Following page's candidates (`feed.visible_ids.visible_post_ids`) run on a
  prepared statement (`core.db.prepared_cursor`) against Django's plain cursor, which PostgreSQL plans at
  every call;
- a page's 20 cards read from the database (`feed.selectors.post_card_rows`: SQL built once and prepared,
  `core.db.RowsOfIds`) against the same two querysets built and compiled at every call;
- a profile's owner found by name (`accounts.selectors.user_get_by_username`: `username__lower`, the unique
  index on LOWER(username)) against Django's `username__iexact` (UPPER(username), no index);
- the rule over a For You ranking's candidate pool (`feed.ranking.selectors.candidate_pool`, ~1,000 ids)
  leaving out what the viewer watched, for the `--watchers` viewers who watched the most: as a probe of the
  (post, viewer) index per candidate (`feed.visible_ids._rule`) against the `NOT EXISTS` it replaced, which
  a prepared plan turned into comparing every candidate with every post the viewer ever watched.

The two sides of each pair alternate call by call over the same inputs, so the machine's load weighs on both
alike; the ratio is what this measures. Prints one line per pair (p50 and p90 in ms, and their ratio).

Run: ``.venv/bin/python bench/feed_statements.py [--viewers 200] [--rounds 3] [--watchers 20]`` after
``bench/feed_scale.py`` has seeded. Never run by the test suite."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pg_scale import django_environment, percentile

DATABASE = "sora_bench_feed"


def _pair(name: str, new: Callable[[Any], object], old: Callable[[Any], object], inputs: list[Any]) -> str:
    times: dict[str, list[float]] = {"new": [], "old": []}
    for run in (new, old):  # warm both (connections, caches, first plans)
        for item in inputs[:5]:
            run(item)
    for item in inputs:
        for side, run in (("new", new), ("old", old)):
            started = time.perf_counter()
            run(item)
            times[side].append((time.perf_counter() - started) * 1000)
    new_p50, old_p50 = statistics.median(times["new"]), statistics.median(times["old"])
    return (
        f"{name}: {old_p50:.2f} → {new_p50:.2f} ms p50 ({new_p50 / old_p50:.2f}x), "
        f"p90 {percentile(times['old'], 0.9):.2f} → {percentile(times['new'], 0.9):.2f} ms, n={len(inputs)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=20)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-statements-"))
    os.environ.update(django_environment(DATABASE, data_dir))
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/0"  # not used: nothing here reads the cache

    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, Exists, OuterRef, QuerySet

    from accounts.models import User
    from accounts.selectors import user_get_by_username
    from core import db
    from feed import selectors, visible_ids
    from feed.models import PostView
    from feed.ranking.selectors import candidate_pool, viewer_signals
    from generation.models import Generation, GenerationCameo

    users = list(User.objects.filter(is_active=True).order_by("pk"))
    step = max(1, len(users) // args.viewers)
    viewers = users[::step][: args.viewers]
    pages = [
        (viewer, [pk for _, pk in selectors.following_candidates(viewer=viewer, before=None, limit=42)])
        for viewer in viewers
    ]
    pages = [page for page in pages if page[1]] * args.rounds

    @contextlib.contextmanager
    def plain_cursor() -> Iterator[Any]:
        with connection.cursor() as cursor:
            yield cursor

    def rule(cursor: Callable[[], Any]) -> Callable[[Any], object]:
        def run(page: Any) -> object:
            visible_ids.prepared_cursor = cursor  # type: ignore[assignment]
            return visible_ids.visible_post_ids(viewer=page[0], post_ids=page[1])

        return run

    print(
        _pair(
            "the rule over a Following page's candidates", rule(db.prepared_cursor), rule(plain_cursor), pages
        )
    )

    def cards_compiled_per_call(ids: list[int]) -> object:
        rows: QuerySet[Any] = (
            Generation.objects.filter(pk__in=ids)
            .annotate(remix_count=selectors.remix_count())
            .values_list(*selectors.CARD_COLUMNS)
        )
        uses = (
            GenerationCameo.objects.filter(generation_id__in=ids)
            .order_by("pk")
            .values_list("generation_id", "pk", "handle", "owner__username")
        )
        return list(rows), list(uses)

    card_pages = [ids[:20] for _, ids in pages]
    print(
        _pair(
            "a page's 20 cards from the database",
            lambda ids: selectors.post_card_rows(post_ids=ids),
            cards_compiled_per_call,
            card_pages,
        )
    )

    names = [viewer.username.upper() for viewer, _ in pages]
    print(
        _pair(
            "a user found by name",
            lambda name: user_get_by_username(username=name),
            lambda name: User.objects.filter(username__iexact=name, is_active=True).first(),
            names,
        )
    )

    visible_ids.prepared_cursor = db.prepared_cursor  # type: ignore[assignment]
    probe_rule = visible_ids._rule

    def anti_join_rule(viewer: Any, *, unseen: bool) -> QuerySet[Any]:
        posts = selectors.posts_visible_to(viewer)
        seen = PostView.objects.filter(viewer=viewer, post_id=OuterRef("pk"))
        return posts.exclude(requester=viewer).exclude(Exists(seen))

    def unseen(rule: Callable[..., Any]) -> Callable[[Any], object]:
        def run(pool: Any) -> object:
            if visible_ids._rule is not rule:
                visible_ids._rule = rule  # type: ignore[assignment]
                visible_ids._compiled.clear()
            return visible_ids.visible_post_ids(viewer=pool[0], post_ids=pool[1], unseen=True)

        return run

    heaviest = (
        PostView.objects.values("viewer")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("viewer", flat=True)
    )
    watchers = list(User.objects.filter(pk__in=list(heaviest[: args.watchers])))
    pools = [(w, candidate_pool(viewer=w, signals=viewer_signals(viewer=w))) for w in watchers]
    print(
        _pair(
            f"the rule over a ranking's candidates, unseen, the {len(pools)} heaviest watchers",
            unseen(probe_rule),
            unseen(anti_join_rule),
            pools * args.rounds,
        )
    )


if __name__ == "__main__":
    main()
