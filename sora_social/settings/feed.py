"""The feed: For You ranking."""

from .env import env

# How long a For You ranking that a newer one replaced stays readable for its cursors
# (feed.ranking.snapshot): long enough to finish scrolling it.
FEED_FOR_YOU_SNAPSHOT_TTL_S = env.int("FEED_FOR_YOU_SNAPSHOT_TTL_S", default=30 * 60)
# A viewer's current For You ranking is their first page while younger than FEED_FOR_YOU_KEEP_S; once it is
# older than FEED_FOR_YOU_REFRESH_S, serving it also asks a worker to rank afresh (one at a time per viewer)
# for their next first page: stale while revalidating, so a viewer who was here within FEED_FOR_YOU_KEEP_S
# reads a ranking rather than computing one. With none that young (a first visit, a day away, or right
# after "see less" or a new steering text), the first page ranks in the request.
FEED_FOR_YOU_REFRESH_S = env.int("FEED_FOR_YOU_REFRESH_S", default=60)
FEED_FOR_YOU_KEEP_S = env.int("FEED_FOR_YOU_KEEP_S", default=24 * 60 * 60)
# How long a post's card (what every viewer sees of it, feed.cards) is kept: the feed's own writes drop it
# at once; an author's new display name or a remix's count shows within this.
FEED_POST_CARD_TTL_S = env.int("FEED_POST_CARD_TTL_S", default=60)
