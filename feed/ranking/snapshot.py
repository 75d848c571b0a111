"""The ranked snapshot behind For You's cursor.

A fresh first page ranks once and keeps the ranked post ids in the cache (Redis) under the viewer's id and
a random snapshot id, for `FEED_FOR_YOU_SNAPSHOT_TTL_S`. Its cursor names that snapshot and an offset, so
every later page is a slice of the same list: posts published, liked or viewed meanwhile cannot move a post
across a page boundary (no duplicates, no gaps). The key holds the viewer's id, so a cursor is no use to
anyone else. A cursor whose snapshot expired is refused (`cursor_expired`): the client starts again without
one, which ranks afresh."""

import base64
import binascii
import re
import secrets

from django.conf import settings
from django.core.cache import cache

from core.exceptions import ApplicationError
from core.parsing import parse_ascii_int
from feed.errors import FeedError

_SNAPSHOT_ID = re.compile(r"[0-9a-f]{16}")


def _key(viewer_id: int, snapshot_id: str) -> str:
    return f"feed:for-you:{viewer_id}:{snapshot_id}"


def snapshot_store(*, viewer_id: int, post_ids: list[int]) -> str:
    snapshot_id = secrets.token_hex(8)
    cache.set(_key(viewer_id, snapshot_id), post_ids, timeout=settings.FEED_FOR_YOU_SNAPSHOT_TTL_S)
    return snapshot_id


def snapshot_load(*, viewer_id: int, snapshot_id: str) -> list[int]:
    post_ids = cache.get(_key(viewer_id, snapshot_id))
    if post_ids is None:
        raise ApplicationError(
            FeedError.CURSOR_EXPIRED,
            "This ranking has expired; load the feed again without a cursor.",
            status=400,
        )
    return list(post_ids)


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
