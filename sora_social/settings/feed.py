"""The feed: For You ranking."""

from .env import env

# How long a For You ranking is kept for its cursor (feed.ranking.snapshot): long enough to scroll a
# session, short enough that a viewer who comes back gets a fresh ranking.
FEED_FOR_YOU_SNAPSHOT_TTL_S = env.int("FEED_FOR_YOU_SNAPSHOT_TTL_S", default=30 * 60)
