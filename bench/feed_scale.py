"""The feeds at scale: one page of each feed with 10k to 1M posts, 50k users and a power-law follow graph
in PostgreSQL, and requests per second against the real ASGI server.

Run: ``nice .venv/bin/python bench/feed_scale.py [--posts 1000000] [--users 50000] [--viewers 500]
[--load-seconds 10] [--concurrency 16] [--no-load] [--no-write]``
(``--posts 10000 --users 5000 --viewers 100 --load-seconds 3`` checks it in under a minute; 1M seeds in
minutes). Never run by the test suite.

1. Seed. The database `sora_bench_feed` is dropped, created and migrated, then filled by COPY (psycopg,
   not the ORM; foreign-key triggers off while loading, consistent by construction) and ANALYZEd:
   - users: 0.3% deactivated, 7% under 18, 3% of unknown age;
   - follows: out-degree log-normal (median 15, capped at 2,000; 5% follow nobody), followees drawn by a
     Zipf popularity (exponent 0.9), so a few accounts have tens of thousands of followers;
   - blocks (0.3 per user, of popular accounts more often) with the follows between the pair removed,
     mutes (0.6 per user, half of them of accounts the muter follows);
   - one verified cameo for 10% of the users;
   - generations: the posts plus 15% more that never were (drafts, failed, canceled), ids in time order
     over a year, more of them recent; 60% of the users post, the popular ones more; 5% of the posts remix
     an earlier one; 0.5% taken down, 0.3% deleted; the prompt, a ~500-byte spec, provenance, engine
     metadata and a 621-character fingerprint on every row (the feed query reads whole rows);
   - posts for the published: 85% public, 10% followers, 3% mutuals, 2% private; 1% for adults only;
     0.1% with a cameo tag removed; captions with hashtags;
   - cameo uses: 15% of the posts show one cameo (a fifth of them two), the popular owners' more often;
   - likes (2 per post) and views (4 per post, with watch time) on a heavy-tailed spread of posts, never
     the author's own; the posts' counters equal their rows.
2. Server time for one page of 20 of each feed, for `--viewers` viewers chosen evenly over the log range
   of how many accounts they follow (what a Following page's cost depends on): `GET` through Django's test
   client with a bearer token, so middleware, authentication, the selector, the serializer (signed media
   URLs) and JSON rendering are all in it; the SQL queries of each request are counted. Feeds: Following
   (page 1 with its posts' cards not kept, as for a viewer whose page shares no post with the viewers
   before: at 10k posts most pages share most, at 1M few; then page 1 again and page 2 through its `next`
   cursor), every post (`/feed/`), a profile (authors chosen over
   the range of post counts), and For You when the URL `feed-for-you` exists (see `FOR_YOU`): its first
   page ranked in the request (no kept ranking: a first visit), then from the ranking that request kept
   with the page's cards not kept (read from the database), then with them kept, its page 2, and a first
   page of a viewer back after three hours (the kept ranking served while a worker is asked for a fresh
   one: the task is sent to the bench's Redis, where no worker takes it).
3. Requests per second: uvicorn serving `sora_social.asgi:application` exactly as `manage.py embedded`
   starts it (one process, `--lifespan off --ws websockets --no-access-log`), on loopback, against this
   database; an asyncio httpx client keeps `--concurrency` requests in flight for `--load-seconds` per
   endpoint, rotating through 200 viewers' tokens; the endpoints take turns in slices of ~2 s (the trivial
   authenticated endpoint `GET /users/me/`, Following, For You, again ...), so that the machine's drift
   over the run weighs on each alike, and each feed's rate is given as a ratio to `/users/me/`'s. For You's
   viewers each open it once before (an active viewer's kept ranking); a second server that keeps no
   ranking (`FEED_FOR_YOU_KEEP_S=0`) measures For You ranked in every request, with its own
   `/users/me/`.

Writes the "## Feeds at scale (feed issue)" section of ``bench/RESULTS.md`` (one table row per scale: the
section keeps the rows of the other scale, so a 10k and a 1M run sit side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.pg_scale import (
    REPO_ROOT,
    Loader,
    Samples,
    django_environment,
    escape,
    load,
    machine,
    recreate_database,
    timed_get,
    timestamps,
    unique_pairs,
    zipf_weights,
)

DATABASE = "sora_bench_feed"
SECTION = "## Feeds at scale (feed issue)"
DAY = 86_400
YEAR = 365 * DAY

# For You: measured when the URL name resolves (the ranking lands separately). If the ranking needs rows
# of its own (post embeddings, steering vectors, a ranked snapshot), `seed_for_you` is where they are
# loaded; it is called after the posts are in.
FOR_YOU = ("For You", "feed-for-you")
# A first page ranked in the request: the viewer has no kept ranking (a first visit, or back after
# FEED_FOR_YOU_KEEP_S). The first measurement of each viewer is this one; "For You" is the first page a
# viewer gets from the ranking kept by the one before (feed.ranking.services.for_you_page), first with its
# posts' cards not kept (read from the database, feed.cards), then with them kept; "back after 3 hours" is
# that ranking served once it is hours old, which also asks a worker to rank afresh.
FOR_YOU_RANKED = "For You, first visit (ranked in the request)"
FOR_YOU_BACK = "For You, back after 3 hours (kept ranking served, a worker asked)"

SPEC = json.dumps(
    {
        "version": 1,
        "duration_s": 8,
        "aspect": "9:16",
        "shots": [
            {
                "description": "a golden retriever surfing a wave at sunset, spray in the air",
                "camera": "slow push-in",
                "cameos": ["@handle"],
                "dialogue": [{"speaker": "@handle", "text": "this is the best day ever", "start_s": 1.5}],
            }
        ],
        "sound": {"music": "upbeat surf rock", "ambience": "waves, gulls", "effects": ["splash"]},
        "style": "photoreal, warm light",
    }
)
PROVENANCE = json.dumps(
    {
        "claim_generator": "sora-social/1.0",
        "signature": "ES256",
        "actions": ["c2pa.created", "c2pa.edited"],
        "ingredients": [{"kind": "cameo", "handle": "@handle"}],
        "manifest_sha256": "9f" * 32,
    }
)
ENGINE_METADATA = json.dumps(
    {"engine": "reference_dit+renderer", "seed": 1234, "steps": 12, "rendered_as": {"place": "beach"}}
)
NULL = "\\N"  # COPY's null
HASHTAGS = ["dogs", "surf", "comedy", "cats", "dance", "food", "travel", "music", "art", "sports", "fyp"]


# -- 1. seed --------------------------------------------------------------------------------------------------


def seed(posts: int, users: int, rng: np.random.Generator) -> dict[str, object]:
    from django.contrib.auth.hashers import make_password

    loader = Loader(DATABASE)
    user_ids = np.arange(1, users + 1)
    popularity = zipf_weights(rng, users, 0.9)

    # users
    active = rng.random(users) >= 0.003
    age_years = np.where(rng.random(users) < 0.07, rng.uniform(13, 17.9, users), rng.uniform(18, 70, users))
    unknown_age = rng.random(users) < 0.03
    birth = timestamps(age_years * YEAR)
    joined = timestamps(rng.uniform(DAY, 2 * YEAR, users))
    password = make_password("bench-password-1")
    loader.copy(
        "accounts_user",
        ["id", "password", "is_superuser", "is_staff", "is_active", "date_joined", "username", "email",
         "display_name", "birth_date", "email_verified_at"],
        (
            f"{uid}\t{password}\tf\tf\t{'t' if act else 'f'}\t{jn}\tu{uid}\tu{uid}@bench.invalid\tUser {uid}\t"
            f"{NULL if unk else b[:10]}\t{jn}"
            for uid, act, jn, unk, b in zip(user_ids.tolist(), active.tolist(), joined, unknown_age.tolist(), birth, strict=False)
        ),
    )  # fmt: skip

    # follows: heavy-tailed out-degree, followees by popularity
    degree = np.clip(rng.lognormal(np.log(15), 1.1, users), 1, 2000).astype(np.int64)
    degree[rng.random(users) < 0.05] = 0
    follower = np.repeat(user_ids, degree)
    followee = rng.choice(user_ids, size=len(follower), p=popularity)
    follower, followee = unique_pairs(follower, followee, users + 1)
    # blocks: the follows between the two are gone (blocking removes them)
    n_blocks = int(users * 0.3)
    blocker, blocked = unique_pairs(
        rng.choice(user_ids, n_blocks), rng.choice(user_ids, n_blocks, p=popularity), users + 1
    )
    base = users + 1
    block_keys = np.concatenate([blocker * base + blocked, blocked * base + blocker])
    keep = ~np.isin(follower * base + followee, block_keys)
    follower, followee = follower[keep], followee[keep]
    loader.copy(
        "accounts_follow",
        ["id", "follower_id", "followee_id", "created_at"],
        (
            f"{i}\t{a}\t{b}\t{t}"
            for i, a, b, t in zip(
                range(1, len(follower) + 1), follower.tolist(), followee.tolist(),
                timestamps(rng.uniform(0, YEAR, len(follower))), strict=False,
            )
        ),
    )  # fmt: skip
    loader.copy(
        "accounts_block",
        ["id", "blocker_id", "blocked_id", "created_at"],
        (
            f"{i}\t{a}\t{b}\t{t}"
            for i, a, b, t in zip(
                range(1, len(blocker) + 1), blocker.tolist(), blocked.tolist(),
                timestamps(rng.uniform(0, YEAR, len(blocker))), strict=False,
            )
        ),
    )  # fmt: skip
    n_mutes = int(users * 0.6)
    from_follows = rng.choice(len(follower), n_mutes // 2)
    muter, muted = unique_pairs(
        np.concatenate([follower[from_follows], rng.choice(user_ids, n_mutes - n_mutes // 2)]),
        np.concatenate([followee[from_follows], rng.choice(user_ids, n_mutes - n_mutes // 2, p=popularity)]),
        base,
    )
    loader.copy(
        "accounts_mute",
        ["id", "muter_id", "muted_id", "created_at"],
        (f"{i}\t{a}\t{b}\t{NOW_TS}" for i, a, b in zip(range(1, len(muter) + 1), muter.tolist(), muted.tolist(), strict=False)),
    )  # fmt: skip

    # cameos: one verified cameo for 10% of the users
    cameo_owner = np.sort(rng.choice(user_ids, users // 10, replace=False))
    cameo_ids = np.arange(1, len(cameo_owner) + 1)
    permissions = rng.choice(
        ["everyone", "mutuals", "approved", "only_me"], len(cameo_owner), p=[0.4, 0.3, 0.2, 0.1]
    )
    loader.copy(
        "cameos_cameo",
        ["id", "owner_id", "kind", "handle", "display_name", "status", "permission", "restricted_categories",
         "forbidden_words", "verified_at"],
        (
            f"{c}\t{o}\tperson\tu{o}\tUser {o}\tverified\t{p}\t[]\t[]\t{NOW_TS}"
            for c, o, p in zip(cameo_ids.tolist(), cameo_owner.tolist(), permissions.tolist(), strict=False)
        ),
    )  # fmt: skip

    # generations, in time order
    total = int(posts * 1.15)
    ages = np.sort(YEAR * (1 - np.sqrt(rng.random(total))))[::-1] + 300
    poster_weight = popularity**0.6 * (rng.random(users) < 0.6) * active
    requester = rng.choice(user_ids, total, p=poster_weight / poster_weight.sum())
    published = np.zeros(total, dtype=bool)
    published[rng.choice(total, posts, replace=False)] = True
    gen_ids = np.arange(1, total + 1)
    post_ids = gen_ids[published]
    status = np.where(
        published, "succeeded", rng.choice(["succeeded", "failed", "canceled"], total, p=[0.6, 0.25, 0.15])
    )
    removed = published & (rng.random(total) < 0.005)
    deleted = published & ~removed & (rng.random(total) < 0.003)
    remix_of = np.full(total, -1)
    remixes = np.flatnonzero(published[1:]) + 1
    remixes = remixes[rng.random(len(remixes)) < 0.05]
    position = np.searchsorted(post_ids, gen_ids[remixes])  # posts before each remix
    ok = position > 0
    remix_of[remixes[ok]] = post_ids[(rng.random(ok.sum()) * position[ok]).astype(np.int64)]
    created = timestamps(ages)
    published_at = timestamps(ages - 120)
    fingerprint = "a3" * 310 + "f"

    def generation_lines():
        for i, uid, st, cr, pub, is_pub, rem, dele, rmx in zip(
            gen_ids.tolist(), requester.tolist(), status.tolist(), created, published_at, published.tolist(),
            removed.tolist(), deleted.tolist(), remix_of.tolist(), strict=False,
        ):  # fmt: skip
            media = st == "succeeded"
            yield (
                f"{i}\t{uid}\ta golden retriever surfing at sunset, take {i}\t{SPEC}\t{st}\t1\tdone\t"
                f"{'' if media else 'engine_unavailable'}\t"
                f"{f'generations/{i}.mp4' if media else ''}\t{f'generations/{i}.jpg' if media else ''}\t"
                f"{ENGINE_METADATA}\t{PROVENANCE if media else '{}'}\t{fingerprint if media else ''}\t"
                f"{cr}\t{cr}\t{cr}\t{pub if is_pub else NULL}\t{pub if rem else NULL}\t"
                f"{'owner' if rem else ''}\t{pub if dele else NULL}\t{rmx if rmx > 0 else NULL}\t1"
            )

    loader.copy(
        "generation_generation",
        ["id", "requester_id", "prompt", "spec", "status", "progress", "stage", "failure_reason", "video",
         "poster", "engine_metadata", "provenance", "fingerprint", "created_at", "started_at", "finished_at",
         "published_at", "removed_at", "removed_reason", "deleted_at", "remix_of_id", "attempts"],
        generation_lines(),
    )  # fmt: skip

    # cameo uses on 15% of the posts (a fifth of them two) and on a few drafts
    used_in = gen_ids[(rng.random(total) < 0.15) & (status == "succeeded")]
    used_in = np.concatenate([used_in, used_in[rng.random(len(used_in)) < 0.2]])
    cameo_weight = popularity[cameo_owner - 1] ** 0.5
    used_cameo = rng.choice(cameo_ids, len(used_in), p=cameo_weight / cameo_weight.sum())
    keys = np.unique(used_in.astype(np.int64) * (len(cameo_ids) + 1) + used_cameo)
    use_generation, use_cameo = keys // (len(cameo_ids) + 1), keys % (len(cameo_ids) + 1)
    loader.copy(
        "generation_generationcameo",
        ["id", "generation_id", "cameo_id", "owner_id", "handle"],
        (
            f"{i}\t{g}\t{c}\t{o}\tu{o}"
            for i, g, c, o in zip(
                range(1, len(keys) + 1), use_generation.tolist(), use_cameo.tolist(),
                cameo_owner[use_cameo - 1].tolist(), strict=False,
            )
        ),
    )  # fmt: skip

    # likes and views: heavy-tailed over posts, never the author's own
    virality = rng.pareto(1.2, posts) + 0.05
    virality /= virality.sum()
    activity = zipf_weights(rng, users, 0.5)
    author_of_post = requester[published]

    def interactions(count: int) -> tuple[np.ndarray, np.ndarray]:
        index = rng.choice(posts, count, p=virality)
        who = rng.choice(user_ids, count, p=activity)
        keep = who != author_of_post[index]
        keys = np.unique(index[keep].astype(np.int64) * base + who[keep])
        return keys // base, keys % base

    like_index, liker = interactions(2 * posts)
    like_count = np.bincount(like_index, minlength=posts)
    loader.copy(
        "feed_like",
        ["id", "post_id", "user_id", "created_at"],
        (
            f"{i}\t{p}\t{u}\t{t}"
            for i, p, u, t in zip(
                range(1, len(liker) + 1), post_ids[like_index].tolist(), liker.tolist(),
                timestamps(rng.uniform(0, 30 * DAY, len(liker))), strict=False,
            )
        ),
    )  # fmt: skip
    view_index, viewer = interactions(4 * posts)
    watch = rng.integers(500, 30_000, len(viewer))
    view_count = np.bincount(view_index, minlength=posts)
    watch_total = np.bincount(view_index, weights=watch, minlength=posts).astype(np.int64)
    loader.copy(
        "feed_postview",
        ["id", "post_id", "viewer_id", "watch_ms", "first_seen_at", "last_seen_at"],
        (
            f"{i}\t{p}\t{u}\t{w}\t{t}\t{t}"
            for i, p, u, w, t in zip(
                range(1, len(viewer) + 1), post_ids[view_index].tolist(), viewer.tolist(), watch.tolist(),
                timestamps(rng.uniform(0, 30 * DAY, len(viewer))), strict=False,
            )
        ),
    )  # fmt: skip

    visibility = rng.choice(["public", "followers", "mutuals", "private"], posts, p=[0.85, 0.10, 0.03, 0.02])
    adults_only = rng.random(posts) < 0.01
    tag_removed = rng.random(posts) < 0.001
    tags = rng.integers(0, len(HASHTAGS), (posts, 2)).tolist()
    post_hashtags = [[HASHTAGS[a]] if a == b else [HASHTAGS[a], HASHTAGS[b]] for a, b in tags]
    post_published = [published_at[i - 1] for i in post_ids.tolist()]
    # For You reads a completion rate from the video's length once the tree has the column.
    duration = "\t8000" if "duration_ms" in loader.columns("feed_post") else ""

    def post_lines():
        for n, (gid, vis, adult, untagged, tagged, likes, views, watched, pub) in enumerate(
            zip(post_ids.tolist(), visibility.tolist(), adults_only.tolist(), tag_removed.tolist(), post_hashtags,
                like_count.tolist(), view_count.tolist(), watch_total.tolist(), post_published, strict=True)
        ):  # fmt: skip
            caption = escape(f"day {n} at the beach " + " ".join(f"#{tag}" for tag in tagged))
            yield (
                f"{gid}\t{caption}\t{json.dumps(tagged)}\t[]\t{vis}\t{'f' if n % 20 == 0 else 't'}\t"
                f"{'t' if adult else 'f'}\t{likes}\t0\t{views}\t{watched}\t{pub if untagged else NULL}\t{pub}\t"
                f"{pub}{duration}"
            )

    loader.copy(
        "feed_post",
        ["generation_id", "caption", "hashtags", "mentions", "visibility", "comments_enabled", "adults_only",
         "like_count", "comment_count", "view_count", "watch_ms", "tag_removed_at", "created_at", "updated_at"]
        + (["duration_ms"] if duration else []),
        post_lines(),
    )  # fmt: skip
    seed_for_you(
        loader, post_ids=post_ids, authors=author_of_post, hashtags=post_hashtags, users=users, rng=rng
    )
    analyze_s = loader.finish(
        ["accounts_user", "accounts_follow", "accounts_block", "accounts_mute", "cameos_cameo",
         "generation_generation", "generation_generationcameo", "feed_like", "feed_postview"]
    )  # fmt: skip
    loader.connection.close()
    return {"rows": loader.rows, "seconds": loader.seconds, "analyze_s": analyze_s}


def seed_for_you(
    loader: Loader, *, post_ids: np.ndarray, authors: np.ndarray, hashtags: list[list[str]], users: int,
    rng: np.random.Generator,
) -> None:  # fmt: skip
    """The rows the For You ranking reads beyond posts, likes, views, follows, blocks and mutes, loaded when
    the tree has them (feed.models: `PostEmbedding`, `FeedSteering`, `SeeLess`): a random unit vector per
    post (their values do not change the cost of ranking), a steering text for 10% of the users, and 1 to
    3 "see less" for 5% of them."""
    import hashlib

    dimensions = 384  # all-MiniLM-L6-v2
    if loader.columns("feed_postembedding"):

        def embedding_lines():
            for start in range(0, len(post_ids), 20_000):
                chunk = post_ids[start : start + 20_000]
                vectors = rng.normal(size=(len(chunk), dimensions)).astype("<f4")
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                for pid, vector in zip(chunk.tolist(), vectors, strict=True):
                    yield f"{pid}\t\\\\x{vector.tobytes().hex()}\t{hashlib.sha256(str(pid).encode()).hexdigest()}"

        loader.copy("feed_postembedding", ["post_id", "vector", "text_sha256"], embedding_lines())
    if loader.columns("feed_feedsteering"):
        steering_users = rng.choice(np.arange(1, users + 1), users // 10, replace=False)

        def steering_lines():
            for uid in steering_users.tolist():
                more, less = rng.normal(size=(2, dimensions)).astype("<f4")
                more /= np.linalg.norm(more)
                less /= np.linalg.norm(less)
                text = "more animals, less sports"
                yield (
                    f'{uid}\t{text}\t["animals"]\t["sports"]\t\\\\x{more.tobytes().hex()}\t'
                    f"\\\\x{less.tobytes().hex()}\t{text}\t{NOW_TS}"
                )

        loader.copy(
            "feed_feedsteering",
            [
                "user_id",
                "text",
                "more",
                "less",
                "more_vectors",
                "less_vectors",
                "embedded_text",
                "updated_at",
            ],
            steering_lines(),
        )
    if loader.columns("feed_seeless"):
        who = np.repeat(
            rng.choice(np.arange(1, users + 1), users // 20, replace=False), rng.integers(1, 4, users // 20)
        )
        index = rng.integers(0, len(post_ids), len(who))
        keys = np.unique(who.astype(np.int64) * (len(post_ids) + 1) + index)
        who, index = keys // (len(post_ids) + 1), keys % (len(post_ids) + 1)
        loader.copy(
            "feed_seeless",
            ["id", "user_id", "post_id", "author_id", "hashtags", "created_at"],
            (
                f"{n}\t{u}\t{post_ids[i]}\t{authors[i]}\t{json.dumps(hashtags[i])}\t{NOW_TS}"
                for n, (u, i) in enumerate(zip(who.tolist(), index.tolist(), strict=True), start=1)
            ),
        )


NOW_TS = timestamps(np.zeros(1))[0]


# -- 2. server time per page ----------------------------------------------------------------------------------


def choose_viewers(count: int, rng: np.random.Generator) -> list[int]:
    """Active users who follow someone, chosen evenly over the log range of how many they follow."""
    from django.db.models import Count

    from accounts.models import User

    rows = list(
        User.objects.filter(is_active=True)
        .annotate(following=Count("following_edges"))
        .filter(following__gt=0)
        .values_list("pk", "following")
    )
    ids = np.array([pk for pk, _ in rows])
    logs = np.log(np.array([n for _, n in rows], dtype=np.float64))
    order = np.argsort(logs)
    targets = np.linspace(logs.min(), logs.max(), count)
    positions = np.clip(np.searchsorted(logs[order], targets), 0, len(rows) - 1)
    chosen = list(dict.fromkeys(ids[order][positions].tolist()))
    spare = [pk for pk in ids[rng.permutation(len(ids))].tolist() if pk not in set(chosen)]
    return (chosen + spare)[:count]


def choose_authors(count: int) -> list[str]:
    """Usernames of posting users chosen evenly over the log range of their post counts."""
    from django.db.models import Count

    from generation.models import Generation

    rows = list(
        Generation.objects.filter(published_at__isnull=False)
        .values("requester__username")
        .annotate(n=Count("id"))
        .order_by("n")
        .values_list("requester__username", "n")
    )
    logs = np.log([n for _, n in rows])
    positions = np.clip(np.searchsorted(logs, np.linspace(logs.min(), logs.max(), count)), 0, len(rows) - 1)
    return [rows[p][0] for p in positions.tolist()]


@functools.cache
def feeds() -> list[tuple[str, str]]:
    from django.urls import NoReverseMatch, reverse

    found = [
        ("Following, cards not kept", "followingnocards:" + reverse("feed-following")),
        ("Following", reverse("feed-following")),
        ("Following, page 2", "next:feed-following"),
        ("Every post (/feed/)", reverse("feed")),
        ("Profile", "profile"),
    ]
    try:
        for_you = reverse(FOR_YOU[1])
    except NoReverseMatch:
        print(f"{FOR_YOU[0]}: no URL named {FOR_YOU[1]!r} yet: not measured", flush=True)
    else:
        found[2:2] = [
            (FOR_YOU_RANKED, "rank:" + for_you),
            (f"{FOR_YOU[0]}, cards not kept", "nocards:" + for_you),
            (FOR_YOU[0], for_you),
            (f"{FOR_YOU[0]}, page 2", "next:" + FOR_YOU[1]),
            (FOR_YOU_BACK, "back:" + for_you),
        ]
    return found


def measure_pages(viewers: list[int], tokens: dict[int, str], authors: list[str]) -> dict[str, Samples]:
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    results = {name: Samples() for name, _ in feeds()}
    clients = {pk: Client(HTTP_AUTHORIZATION=f"Bearer {tokens[pk]}") for pk in viewers}
    # Warm up: the first requests of a process import and compile what later ones reuse.
    for pk in viewers[:20]:
        clients[pk].get(reverse("feed-following"))
    for index, pk in enumerate(viewers):
        client = clients[pk]
        for name, url in feeds():
            if url == "profile":
                timed_get(client, reverse("users-posts", args=[authors[index]]), results[name])
            elif url.startswith("rank:"):
                from feed.ranking.snapshot import ranking_forget

                ranking_forget(viewer_id=pk)
                timed_get(client, url[5:], results[name])
            elif url.startswith("nocards:"):
                from feed.cards import post_cards_forget
                from feed.ranking.snapshot import ranking_current

                kept = ranking_current(viewer_id=pk)
                post_cards_forget(post_ids=kept.post_ids[:40] if kept else ())
                timed_get(client, url[8:], results[name])
            elif url.startswith("followingnocards:"):
                from feed.cards import post_cards_forget
                from feed.selectors import following_candidates

                candidates = following_candidates(viewer=User.objects.get(pk=pk), before=None, limit=42)
                post_cards_forget(post_ids=[post_id for _, post_id in candidates])
                timed_get(client, url.partition(":")[2], results[name])
            elif url.startswith("back:"):
                _age_ranking(pk, hours=3)
                timed_get(client, url[5:], results[name])
            elif url.startswith("next:"):
                first = client.get(reverse(url[5:])).json()
                if first.get("next"):
                    timed_get(client, first["next"], results[name])
            else:
                timed_get(client, url, results[name])
    return results


def _age_ranking(viewer_id: int, *, hours: float) -> None:
    """Make `viewer_id`'s kept For You ranking `hours` older, as if they had been away."""
    import dataclasses

    from django.conf import settings
    from django.core.cache import cache

    from feed.ranking import snapshot

    kept = snapshot.ranking_current(viewer_id=viewer_id)
    if kept is not None:
        older = dataclasses.replace(kept, made_at=kept.made_at - hours * 3600)
        timeout = settings.FEED_FOR_YOU_KEEP_S + settings.FEED_FOR_YOU_SNAPSHOT_TTL_S
        cache.set(snapshot._current_key(viewer_id), snapshot._pack(older), timeout=timeout)


# -- 3. requests per second -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _hammer(base: str, path: str, tokens: list[str], seconds: float, concurrency: int) -> dict:
    import httpx

    done, errors, latencies = 0, 0, []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal done, errors
            turn = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(
                    path, headers={"Authorization": f"Bearer {tokens[turn % len(tokens)]}"}
                )
                latencies.append(time.perf_counter() - started)
                turn += concurrency
                if response.status_code == 200:
                    done += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"done": done, "errors": errors, "elapsed": elapsed, "latencies": latencies}


def _load_summary(slices: list[dict]) -> dict:
    """Requests per second, errors and latency percentiles over an endpoint's slices."""
    latencies = sorted(latency for part in slices for latency in part["latencies"])
    return {
        "rps": sum(part["done"] for part in slices) / sum(part["elapsed"] for part in slices),
        "errors": sum(part["errors"] for part in slices),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    }


async def _visit_each(base: str, path: str, tokens: list[str], concurrency: int) -> None:
    """One request to `path` per token (For You: each viewer's first visit, which ranks and keeps it)."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker(offset: int) -> None:
            for token in tokens[offset::concurrency]:
                await client.get(path, headers={"Authorization": f"Bearer {token}"})

        await asyncio.gather(*(worker(i) for i in range(concurrency)))


LOAD_SLICE_S = 2.0


def measure_load(
    env: dict[str, str], tokens: list[str], seconds: float, concurrency: int, *, rank_in_request: bool = False
) -> list[tuple[str, dict]]:
    """Requests per second of /users/me/, Following and For You on one uvicorn process, the endpoints taking
    turns in slices of about `LOAD_SLICE_S` (me, Following, For You, me, ...) so that the machine's drift
    over the run weighs on each alike. For You's viewers have each visited it once before (their kept
    rankings are what a returning viewer's first page reads); with `rank_in_request`, the server serves no
    kept ranking (FEED_FOR_YOU_KEEP_S=0), so every For You request ranks, as a first visit does, and
    Following is left out."""
    from django.urls import NoReverseMatch, reverse

    port = free_port()
    extra = {"FEED_FOR_YOU_KEEP_S": "0"} if rank_in_request else {}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "sora_social.asgi:application", "--host", "127.0.0.1", "--port",
         str(port), "--lifespan", "off", "--ws", "websockets", "--no-access-log"],
        cwd=REPO_ROOT, env={**os.environ, **env, "DATABASE_CONN_MAX_AGE": "0", **extra},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    paths = [("me", reverse("users-me"))]
    if not rank_in_request:
        paths.append(("Following", reverse("feed-following")))
    with contextlib.suppress(NoReverseMatch):
        paths.append((FOR_YOU_RANKED if rank_in_request else FOR_YOU[0], reverse(FOR_YOU[1])))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.2)
        # warm up every endpoint (imports, connections) before anything is timed
        for name, path in paths:
            if name == FOR_YOU[0]:
                asyncio.run(_visit_each(base, path, tokens, concurrency))
            asyncio.run(_hammer(base, path, tokens, 2, concurrency))
        turns = max(1, round(seconds / LOAD_SLICE_S))
        slices: dict[str, list[dict]] = {name: [] for name, _ in paths}
        for _ in range(turns):
            for name, path in paths:
                slices[name].append(asyncio.run(_hammer(base, path, tokens, seconds / turns, concurrency)))
        return [(name, _load_summary(slices[name])) for name, _ in paths]
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- report ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--load-seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-load", action="store_true", help="skip the requests-per-second part")
    parser.add_argument("--no-seed", action="store_true", help="measure the database the last run seeded")
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/RESULTS.md alone")
    args = parser.parse_args()
    command = "bench/feed_scale.py " + " ".join(sys.argv[1:])
    rng = np.random.default_rng(12)

    data_dir = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    env = django_environment(DATABASE, data_dir)
    os.environ.update(env)
    load_at_start = load()
    seeded = None
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
    try:
        if not args.no_seed:
            call_command("migrate", interactive=False, verbosity=0)
            seeded = seed(args.posts, args.users, rng)
            seeded["total_s"] = time.perf_counter() - started
            print(f"seeded in {seeded['total_s']:.0f} s: {seeded['rows']}", flush=True)

        from accounts.models import User
        from accounts.services import tokens_issue

        viewers = choose_viewers(args.viewers, rng)
        tokens = {pk: tokens_issue(user=User.objects.get(pk=pk))["access"] for pk in viewers}
        authors = choose_authors(len(viewers))
        following = dict(
            User.objects.filter(pk__in=viewers)
            .annotate(n=django.db.models.Count("following_edges"))
            .values_list("pk", "n")
        )
        pages = measure_pages(viewers, tokens, authors)
        for name, samples in pages.items():
            print(name, samples.summary(), sorted(samples.statuses), flush=True)
        load_results = []
        if not args.no_load:
            load_tokens = list(tokens.values())[:200]
            load_results = measure_load(env, load_tokens, args.load_seconds, args.concurrency)
            if any(name == FOR_YOU[0] for name, _ in load_results):
                ranked = measure_load(
                    env, load_tokens, args.load_seconds, args.concurrency, rank_in_request=True
                )
                load_results += [(f"{name}, server ranking every request", r) for name, r in ranked]
            for name, result in load_results:
                print(name, result, flush=True)
        load_at_end = load()
    finally:
        from django.db import connections

        connections.close_all()
        redis.stop()

    text = report(args, command, seeded, pages, load_results, following, load_at_start, load_at_end)
    print(text)
    if not args.no_write:
        from bench.results_file import RESULTS, write_section

        write_section(SECTION, merge_rows(RESULTS, text))


def _scale(posts: int) -> str:
    return f"{posts // 1_000_000}M" if posts >= 1_000_000 and posts % 1_000_000 == 0 else f"{posts // 1000}k"


def report(args, command, seeded, pages, load_results, following, load_at_start, load_at_end) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    scale = _scale(args.posts)
    counts = sorted(following.values())
    lines = [
        f"<!-- run {scale} -->",
        f"Run at {scale} posts: {when}, `{command}`; load average (1, 5, 15 min) {load_at_start} at the start, "
        f"{load_at_end} at the end. {len(counts)} viewers following {counts[0]} to {counts[-1]} accounts "
        f"(median {int(statistics.median(counts))}).",
    ]
    if seeded:
        rows = seeded["rows"]
        lines.append(
            f"Seed: {seeded['total_s']:.0f} s in all (ANALYZE {seeded['analyze_s']:.0f} s); rows: "
            + ", ".join(f"{table} {count:,}" for table, count in rows.items())
            + "."
        )
    lines += [
        "",
        "| feed | posts | p50 ms | p99 ms | max ms | Python CPU p50 ms | SQL p50 ms | queries/page | statuses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, samples in pages.items():
        if not samples.ms:
            continue
        s = samples.summary()
        lines.append(
            f"| {name} | {scale} | {s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.1f} | {s['cpu_p50']:.1f} | {s['sql_p50']:.1f} | "
            f"{s['queries']} | {', '.join(map(str, sorted(samples.statuses)))} |"
        )
    if load_results:

        def server(name: str) -> str:  # the run an endpoint was measured in: its /users/me/ is the unit
            return name.partition(", server")[2]

        me = {
            run: statistics.mean(
                r["rps"] for name, r in load_results if name.startswith("me") and server(name) == run
            )
            for run in {server(name) for name, _ in load_results}
        }
        lines += [
            "",
            f"Requests per second, uvicorn (1 process) on loopback, {args.concurrency} in flight, "
            f"{args.load_seconds:g} s per endpoint in turns of ~{LOAD_SLICE_S:g} s, client in the same machine:",
            "",
            "| endpoint | posts | req/s | ratio to /users/me/ | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in load_results:
            lines.append(
                f"| {name} | {scale} | {r['rps']:.0f} | {r['rps'] / me[server(name)]:.2f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['errors']} |"
            )
    lines.append(f"<!-- end {scale} -->")
    return "\n".join(lines) + "\n"


def merge_rows(results: Path, run_text: str) -> str:
    """The section with this run's block replacing the block of the same scale; the other scales' blocks
    and the hand-written notes (between `<!-- notes -->` and `<!-- end notes -->`) are kept."""
    block = re.compile(r"<!-- run (\S+) -->\n.*?<!-- end \1 -->\n", re.S)
    existing = results.read_text() if results.exists() else ""
    section = re.search(rf"^{re.escape(SECTION)}\n(.*?)(?=^## |\Z)", existing, re.M | re.S)
    body = section.group(1) if section else ""
    runs = {m.group(1): m.group(0) for m in block.finditer(body)}
    runs[block.match(run_text).group(1)] = run_text  # type: ignore[union-attr]
    ordered = sorted(runs.items(), key=lambda item: _scale_value(item[0]))
    notes = re.search(r"<!-- notes -->\n.*?<!-- end notes -->\n", body, re.S)
    return (
        SECTION
        + "\n\n"
        + INTRO.format(machine=machine())
        + "\n"
        + "\n".join(b for _, b in ordered)
        + ("\n" + notes.group(0) if notes else "")
    )


def _scale_value(scale: str) -> int:
    return int(scale[:-1]) * (1_000_000 if scale.endswith("M") else 1000)


INTRO = (
    "Machine: {machine}; 2 cores, shared at times with other test runs (each run gives its load average), so "
    "figures are noisy. `bench/feed_scale.py` "
    "seeds `sora_bench_feed` by COPY (see its docstring for the proportions: 50k users, a power-law follow "
    "graph, blocks, mutes, cameo uses, likes, views) and times one page of 20 per viewer through Django's "
    "test client with a bearer token (middleware, authentication, selector, serializer with signed media "
    "URLs, JSON rendering; not the socket). *Python CPU* is this process's CPU time per request (Django, DRF, psycopg; "
    "not the database server's), which other work on the machine inflates less than wall time; *SQL* the "
    "time the client waited for its queries. *queries/page* counts every SQL query of the request (the "
    "token's user lookup included). Goal (issue 12): constant queries per page, p50 < 15 ms and p99 < 50 ms for "
    "Following and For You at 1M, flat within 25% from 10k to 1M; For You requests per second >= 0.5 x "
    "those of `/users/me/`.\n"
)


if __name__ == "__main__":
    main()
