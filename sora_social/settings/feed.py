"""The feed: For You ranking."""

from .env import env

# How long a For You ranking is kept for its cursor (feed.ranking.snapshot): long enough to scroll a
# session, short enough that a viewer who comes back gets a fresh ranking.
FEED_FOR_YOU_SNAPSHOT_TTL_S = env.int("FEED_FOR_YOU_SNAPSHOT_TTL_S", default=30 * 60)
# A viewer's current For You ranking is served as their first page while younger than FEED_FOR_YOU_FRESH_S;
# once older than FEED_FOR_YOU_REFRESH_S, serving it also asks a worker to rank afresh (one at a time per
# viewer), so an active viewer's first page reads a ranking rather than computing one. Older than
# FEED_FOR_YOU_FRESH_S (or none), the first page ranks in the request.
FEED_FOR_YOU_REFRESH_S = env.int("FEED_FOR_YOU_REFRESH_S", default=60)
FEED_FOR_YOU_FRESH_S = env.int("FEED_FOR_YOU_FRESH_S", default=10 * 60)
# How long a post's card (what every viewer sees of it, feed.cards) is kept: the feed's own writes drop it
# at once; an author's new display name or a remix's count shows within this.
FEED_POST_CARD_TTL_S = env.int("FEED_POST_CARD_TTL_S", default=60)
