from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.pagination import CursorPagination
from feed.selectors import feed_for_user
from generation.apis import GenerationSerializer


class FeedPagination(CursorPagination):
    ordering = ("-published_at", "-id")


class FeedApi(ListAPIView):
    """Published videos, newest first (people you blocked, who blocked you, or you muted are left out)."""

    serializer_class = GenerationSerializer
    pagination_class = FeedPagination

    def get_queryset(self) -> Any:
        return feed_for_user(viewer=self.request.user)

    @extend_schema(operation_id="feed_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
