"""A keyset cursor over (published_at, id), newest first: the page after a cursor is every post published
strictly before it (ties broken by id), so posts published while a client scrolls never shift a later page:
no duplicates, no gaps. One query per page, whatever how deep (two for the Following feed, which first
names its candidates: `PublishedKeysetPagination.paginate_queryset`)."""

import base64
import binascii
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import ApplicationError
from core.pagination import CursorPagination
from core.parsing import parse_ascii_int
from feed.errors import FeedError
from generation.models import Generation


def encode_cursor(generation: Generation) -> str:
    assert generation.published_at is not None, f"post {generation.pk} is not published"
    return encode_position(generation.published_at, generation.pk)


def encode_position(published_at: datetime, post_id: int) -> str:
    raw = f"{published_at.isoformat()}|{post_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, pk = raw.partition("|")
        published_at = datetime.fromisoformat(when)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        published_at = None
    post_id = parse_ascii_int(pk) if published_at is not None else None
    if published_at is None or published_at.tzinfo is None or post_id is None:
        raise ApplicationError(
            FeedError.INVALID_CURSOR, "This cursor is not one this feed handed out.", status=400
        )
    return published_at, post_id


class PublishedKeysetPagination(CursorPagination):
    """Pages of posts, newest first, with a `next` link holding the last post's (published_at, id)."""

    ordering = "-published_at"  # what the schema says; the query orders on (published_at, id)

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        """A view with `page_candidates(before=, limit=)` (the Following feed) names the posts a page may
        hold, newest first, before visibility; the page is the visible ones among them. Twice a page plus
        one are asked for, so a page comes out short only when more than half of them are hidden from the
        viewer; it then still has a `next` link, which starts after the last candidate looked at, so
        nothing is skipped or repeated."""
        size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.request = request
        cursor = request.query_params.get(self.cursor_query_param)
        before = decode_cursor(cursor) if cursor is not None else None
        if before is not None:
            published_at, post_id = before
            queryset = queryset.filter(
                Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=post_id)
            )
        looked_at: list[tuple[datetime, int]] | None = None
        if hasattr(view, "page_candidates"):
            limit = 2 * (size + 1)
            looked_at = view.page_candidates(before=before, limit=limit)
            queryset = queryset.filter(pk__in=[pk for _, pk in looked_at])
        page = list(queryset.order_by("-published_at", "-pk")[: size + 1])
        if len(page) > size:
            self.next_cursor = encode_cursor(page[size - 1])
        elif looked_at is not None and len(looked_at) == limit:
            self.next_cursor = encode_position(*looked_at[-1])
        else:
            self.next_cursor = None
        return page[:size]

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
