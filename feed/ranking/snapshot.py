"""The kept rankings behind For You: the viewer's current ranking, and the snapshots its cursors name.

A ranking is a list of post ids, best first, computed by `feed.ranking.selectors.for_you_ranking` in a
worker (`feed.rank_for_you`) or, when the viewer has none fresh enough, in the request. It is kept in the
cache (Redis) as the viewer's *current* ranking, with a random snapshot id and the time it was made; a first
page is a slice of it, and its cursor names that snapshot id and an offset, so every later page is a slice
of the same list: posts published, liked or viewed meanwhile cannot move a post across a page boundary (no
duplicates, no gaps). When a newer ranking replaces the current one, the old list is kept under its
snapshot id for `FEED_FOR_YOU_SNAPSHOT_TTL_S`, so a cursor handed out from it stays good for at least that
long. Keys hold the viewer's id, so a cursor is no use to anyone else. A cursor whose snapshot expired is
refused (`cursor_expired`): the client starts again without one."""

import base64
import binascii
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from core.exceptions import ApplicationError
from core.parsing import parse_ascii_int
from feed.errors import FeedError

_SNAPSHOT_ID = re.compile(r"[0-9a-f]{16}")


def _clock() -> float:
    return time.time()


@dataclass(frozen=True)
class Ranking:
    snapshot_id: str
    made_at: float  # _clock() when it was ranked
    post_ids: tuple[int, ...]

    @property
    def age_s(self) -> float:
        return _clock() - self.made_at


def _current_key(viewer_id: int) -> str:
    return f"feed:for-you:{viewer_id}:current"


def _snapshot_key(viewer_id: int, snapshot_id: str) -> str:
    return f"feed:for-you:{viewer_id}:{snapshot_id}"


def _pack(ranking: Ranking) -> tuple[str, float, tuple[int, ...]]:
    return ranking.snapshot_id, ranking.made_at, ranking.post_ids


def _unpack(value: tuple[str, float, tuple[int, ...]]) -> Ranking:
    snapshot_id, made_at, post_ids = value
    return Ranking(snapshot_id=snapshot_id, made_at=made_at, post_ids=tuple(post_ids))


def ranking_current(*, viewer_id: int) -> Ranking | None:
    """`viewer_id`'s current ranking, if one is kept."""
    value = cache.get(_current_key(viewer_id))
    return _unpack(value) if value is not None else None


def ranking_store(*, viewer_id: int, post_ids: list[int]) -> Ranking:
    """Keep `post_ids` as `viewer_id`'s current ranking, the one it replaces under its snapshot id."""
    ranking = Ranking(snapshot_id=secrets.token_hex(8), made_at=_clock(), post_ids=tuple(post_ids))
    _keep_current_for_its_cursors(viewer_id)
    # Served as a first page until FEED_FOR_YOU_KEEP_S old, and its cursors good for the TTL after that.
    timeout = settings.FEED_FOR_YOU_KEEP_S + settings.FEED_FOR_YOU_SNAPSHOT_TTL_S
    cache.set(_current_key(viewer_id), _pack(ranking), timeout=timeout)
    return ranking


def ranking_forget(*, viewer_id: int) -> None:
    """Drop `viewer_id`'s current ranking (a "see less" or a new steering text makes it wrong): their next
    first page ranks afresh. Its cursors keep paging through it until they expire."""
    _keep_current_for_its_cursors(viewer_id)
    cache.delete(_current_key(viewer_id))


def _keep_current_for_its_cursors(viewer_id: int) -> None:
    """The current ranking, about to be replaced or dropped, under its snapshot id for its cursors."""
    current = cache.get(_current_key(viewer_id))
    if current is not None:
        cache.set(_snapshot_key(viewer_id, current[0]), current, timeout=settings.FEED_FOR_YOU_SNAPSHOT_TTL_S)


def snapshot_load(*, viewer_id: int, snapshot_id: str) -> tuple[int, ...]:
    """The ranked ids of `viewer_id`'s snapshot `snapshot_id`: the current ranking, or one it replaced."""
    found = cache.get_many([_current_key(viewer_id), _snapshot_key(viewer_id, snapshot_id)])
    for value in found.values():
        if value[0] == snapshot_id:
            return _unpack(value).post_ids
    raise ApplicationError(
        FeedError.CURSOR_EXPIRED,
        "This ranking has expired; load the feed again without a cursor.",
        status=400,
    )


def encode_cursor(snapshot_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{snapshot_id}|{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raw = ""
    snapshot_id, _, offset_text = raw.partition("|")
    offset = parse_ascii_int(offset_text)
    if not _SNAPSHOT_ID.fullmatch(snapshot_id) or offset is None:
        raise ApplicationError(
            FeedError.INVALID_CURSOR, "This cursor is not one this feed handed out.", status=400
        )
    return snapshot_id, offset
