"""The score and the spreading of authors, on plain values."""

from datetime import UTC, datetime, timedelta

import numpy as np

from feed.ranking.score import Candidate, ViewerSignals, rank, spread_authors

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def candidate(post_id: int, author_id: int, *, hours_ago: float = 0, **fields) -> Candidate:
    values = {
        "likes": 0,
        "comments": 0,
        "remixes": 0,
        "views": 0,
        "watch_ms": 0,
        "duration_ms": 8000,
        "hashtags": (),
        "features_followed_cameo": False,
        "vector": None,
    } | fields
    return Candidate(post_id, author_id, NOW - timedelta(hours=hours_ago), **values)


def test_a_followed_authors_fresh_post_outranks_a_strangers_stale_popular_one():
    fresh = candidate(1, author_id=10, hours_ago=1)
    stale = candidate(2, author_id=20, hours_ago=72, likes=200, comments=30)
    assert rank([stale, fresh], ViewerSignals(followed=frozenset({10})), NOW) == [1, 2]


def test_engagement_completion_affinity_and_a_followed_cameo_each_lift_a_post():
    plain = candidate(1, author_id=1)
    lifted = {
        "engagement": candidate(2, author_id=2, likes=50, remixes=3),
        "completion": candidate(3, author_id=3, views=4, watch_ms=4 * 8000),
        "affinity": candidate(4, author_id=4),
        "cameo": candidate(5, author_id=5, features_followed_cameo=True),
    }
    signals = ViewerSignals(interactions={4: 6.0})
    for name, post in lifted.items():
        assert rank([plain, post], signals, NOW) == [post.post_id, 1], name


def test_no_author_more_than_twice_in_any_twenty_consecutive_posts():
    ranked = [(n, 1) for n in range(10)] + [(100 + n, 100 + n) for n in range(40)]
    spread = spread_authors(ranked)
    by_author = dict(ranked)
    for start in range(len(spread)):
        assert sum(by_author[p] == 1 for p in spread[start : start + 20]) <= 2
    assert spread[:2] == [0, 1] and spread[20] == 2  # the flooding author's next post waits its turn
    # Every other author's post is placed; of the flooding author's ten, what the windows allow.
    assert set(spread) == set(range(100, 140)) | {0, 1, 2, 3, 4, 5}


def test_only_flooding_authors_left_ends_the_list():
    assert spread_authors([(1, 7), (2, 7), (3, 7), (4, 8)]) == [1, 2, 4]


def test_see_less_lowers_the_author_the_hashtags_and_the_neighbourhood():
    topic = np.zeros(384, dtype=np.float32)
    topic[0] = 1.0
    nearby = np.zeros(384, dtype=np.float32)
    nearby[[0, 1]] = [0.8, 0.6]
    elsewhere = np.zeros(384, dtype=np.float32)
    elsewhere[2] = 1.0
    posts = [
        candidate(1, author_id=5, hours_ago=0.1),
        candidate(2, author_id=6, hours_ago=0.2, hashtags=("golf",)),
        candidate(3, author_id=7, hours_ago=0.3, vector=nearby),
        candidate(4, author_id=8, hours_ago=2, vector=elsewhere),
    ]
    assert rank(posts, ViewerSignals(), NOW) == [1, 2, 3, 4]
    signals = ViewerSignals(
        see_less_posts=frozenset({99}),
        see_less_authors={5: 1},
        see_less_hashtags=frozenset({"golf"}),
        see_less_vectors=topic[None, :],
    )
    assert rank(posts, signals, NOW) == [4, 2, 3, 1]
    assert rank(posts, ViewerSignals(see_less_posts=frozenset({1})), NOW) == [2, 3, 4]
