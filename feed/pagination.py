"""Keyset cursors over (a time, id), newest first: the page after a cursor is every row strictly before it
(ties broken by id), so rows added while a client scrolls never shift a later page: no duplicates, no gaps.
One query per page, whatever how deep (two for the Following feed, which first names its candidates:
`keyset_page`). Posts page on (published_at, id), notifications on (notified_at, id)."""

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import ApplicationError
from core.pagination import CursorPagination
from core.parsing import parse_ascii_int
from feed.errors import FeedError

# (before=(time, id) or None, limit=) -> (time, id) of the rows a page may hold, newest first.
Candidates = Callable[..., list[tuple[datetime, int]]]


def encode_cursor(when: datetime | None, pk: int) -> str:
    assert when is not None, f"row {pk} has no time to page on"
    raw = f"{when.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        text, _, pk = raw.partition("|")
        when = datetime.fromisoformat(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        when = None
    row_id = parse_ascii_int(pk) if when is not None else None
    if when is None or when.tzinfo is None or row_id is None:
        raise ApplicationError(
            FeedError.INVALID_CURSOR, "This cursor is not one this feed handed out.", status=400
        )
    return when, row_id


def keyset_page(
    queryset: QuerySet,
    *,
    cursor: str | None,
    size: int,
    time_field: str = "published_at",
    candidates: Candidates | None = None,
    visible: Callable[[list[int]], set[int]] | None = None,
    fetch: Callable[[list[int]], list[Any]] | None = None,
) -> tuple[list[Any], str | None]:
    """A page of `size` rows of `queryset`, newest first by (`time_field`, id), after `cursor` (from the
    start when None), and the cursor of the next page (None on the last). One query.

    `candidates(before=, limit=)` (the Following feed: `feed.selectors.following_candidates`) names the rows
    a page may hold, newest first, before visibility, and the page is the visible ones among them (one
    query more). Twice a page plus one are asked for, so a page comes out short only when more than half of
    them are hidden from the viewer; it then still has a next cursor, after the last candidate looked at,
    so nothing is skipped or repeated. `visible(ids)` (with `candidates` only) keeps the candidates the
    viewer may see (`feed.visible_ids.visible_post_ids`), for a `queryset` that does not hold the rule;
    `fetch(ids)` (with `candidates` only) reads the page's rows in that order instead of `queryset` (the
    Following feed's kept cards, `feed.cards`)."""
    before = decode_cursor(cursor) if cursor is not None else None
    if before is not None:
        when, row_id = before
        queryset = queryset.filter(
            Q(**{f"{time_field}__lt": when}) | Q(**{time_field: when, "pk__lt": row_id})
        )
    limit = 2 * (size + 1)
    looked_at = candidates(before=before, limit=limit) if candidates is not None else None
    if looked_at is not None:
        ids = [pk for _, pk in looked_at]
        if visible is not None:
            shown = visible(ids)
            ids = [pk for pk in ids if pk in shown]
        if fetch is not None:
            return _fetched_page(fetch, looked_at, ids, size=size, limit=limit)
        queryset = queryset.filter(pk__in=ids)
    else:
        assert visible is None and fetch is None, "visible() and fetch() work on candidates: give them"
    page = list(queryset.order_by(f"-{time_field}", "-pk")[: size + 1])
    if len(page) > size:
        last = page[size - 1]
        return page[:size], encode_cursor(getattr(last, time_field), last.pk)
    if looked_at is not None and len(looked_at) == limit:
        return page, encode_cursor(*looked_at[-1])
    return page, None


def _fetched_page(
    fetch: Callable[[list[int]], list[Any]],
    looked_at: list[tuple[datetime, int]],
    ids: list[int],
    *,
    size: int,
    limit: int,
) -> tuple[list[Any], str | None]:
    """`keyset_page` with `fetch`: the page is the first `size` of `ids` (candidates newest first), and the
    cursor is read off the candidates, so the rows fetched need no time of their own."""
    page = fetch(ids[:size])
    if len(ids) > size:
        when = dict((pk, at) for at, pk in looked_at)
        return page, encode_cursor(when[ids[size - 1]], ids[size - 1])
    if len(looked_at) == limit:
        return page, encode_cursor(*looked_at[-1])
    return page, None


class KeysetPagination(CursorPagination):
    """Pages newest first by (`time_field`, id), with a `next` link holding the last row's pair."""

    time_field: str

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        self.base_url = request.build_absolute_uri()
        self.request = request
        page, self.next_cursor = keyset_page(
            queryset,
            cursor=request.query_params.get(self.cursor_query_param),
            size=self.get_page_size(request),
            time_field=self.time_field,
            candidates=getattr(view, "page_candidates", None),
            visible=getattr(view, "page_visible", None),
            fetch=getattr(view, "page_fetch", None),
        )
        return page

    def get_next_link(self) -> str | None:
        if self.next_cursor is None:
            return None
        query = self.request.query_params.copy()
        query[self.cursor_query_param] = self.next_cursor
        return self.request.build_absolute_uri(self.request.path) + "?" + query.urlencode()

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }


class PublishedKeysetPagination(KeysetPagination):
    """Pages of posts, newest first by (published_at, id)."""

    ordering = "-published_at"  # what the schema says; the query orders on (published_at, id)
    time_field = "published_at"


class NotificationKeysetPagination(KeysetPagination):
    """A recipient's notifications, newest first by (notified_at, id): an aggregate announced again moves
    to the top."""

    ordering = "-notified_at"
    time_field = "notified_at"
