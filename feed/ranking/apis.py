"""For You API: the ranked feed, the viewer's steering text, and "see less like this"."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import StrictCharField
from core.pagination import CursorPagination
from core.serializers import StrictInputSerializer
from feed.apis import PostSerializer
from feed.cards import post_cards
from feed.models import STEERING_MAX_CHARS, FeedSteering
from feed.ranking import services


class _PageSize(CursorPagination):
    """Only for its page_size parsing (1 to 100, default 20), shared with the other feeds."""


class ForYouApi(APIView):
    """For You: posts ranked for you from the people you follow, posts featuring your mutuals' cameos,
    recent popular posts and your steering text; scored on freshness, reactions, how much of the video
    viewers watch, your follows and interactions with the author, and a cameo of someone you follow; no
    author more than twice in any 20 consecutive posts; posts you watched, your own, and those you asked
    to see less of are left out. The first page (no cursor) starts your latest ranking: one made within
    the last minute or so (a newer one is being made for your next first page; "see less" and a new steering
    text make the next first page rank afresh), or, after 10 minutes away, a fresh one. Its cursor pages
    through that same ranking for at least 30 minutes by default (then 400 `cursor_expired`: start again
    without a cursor), so posts that arrive meanwhile never shift a page; a post hidden or watched since the
    ranking is skipped. The same posts are hidden as everywhere (audience, blocks and
    mutes of the author and of every cameo owner, teen rules)."""

    class OutputSerializer(serializers.Serializer):
        next = serializers.URLField(allow_null=True, help_text="The next page; null at the end.")
        results = PostSerializer(many=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From the previous page's `next`."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 100 (default 20)."),
        ],
        responses={200: OutputSerializer},
        operation_id="feed_for_you",
    )
    def get(self, request: Request) -> Response:
        size = _PageSize().get_page_size(request)
        cursor = request.query_params.get("cursor")
        page, next_cursor = services.for_you_page(viewer=request.user, cursor=cursor, size=size)
        posts = post_cards(post_ids=page)
        next_link = None
        if next_cursor is not None:
            query = request.query_params.copy()
            query["cursor"] = next_cursor
            next_link = request.build_absolute_uri(request.path) + "?" + query.urlencode()
        data = {"next": next_link, "results": posts}
        return Response(self.OutputSerializer(data, context={"request": request}).data)


class SteeringSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="As you wrote it; empty when you have none.")
    more = serializers.ListField(child=serializers.CharField(), help_text="What you asked more of.")
    less = serializers.ListField(child=serializers.CharField(), help_text="What you asked less of.")
    ready = serializers.BooleanField(
        source="is_embedded", help_text="Whether ranking uses it yet (it is read within seconds)."
    )


class SteeringApi(APIView):
    """Steer your For You with a short text, e.g. "more animals, less sports". It is cut into clauses at
    commas, semicolons, "and" and "but"; a clause starting with "more" asks for more, one starting with
    "less", "fewer" or "no" for less, and one with neither goes the way of the one before (the first:
    more). Posts about what you asked more of move up, the others down, and posts about what you asked
    less of move down. Only you see it. PUT sets it, DELETE removes it."""

    class InputSerializer(StrictInputSerializer):
        text = StrictCharField(max_length=STEERING_MAX_CHARS)

    @extend_schema(responses={200: SteeringSerializer}, operation_id="feed_steering_get")
    def get(self, request: Request) -> Response:
        steering = FeedSteering.objects.filter(user=request.user).first() or FeedSteering(user=request.user)
        return Response(SteeringSerializer(steering).data)

    @extend_schema(
        request=InputSerializer, responses={200: SteeringSerializer}, operation_id="feed_steering_set"
    )
    def put(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        steering = services.steering_set(user=request.user, text=data.validated_data["text"])
        return Response(SteeringSerializer(steering).data)

    @extend_schema(request=None, responses={204: None}, operation_id="feed_steering_clear")
    def delete(self, request: Request) -> Response:
        services.steering_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostSeeLessApi(APIView):
    """See less like this: the post leaves your For You, and its author and its topic (its hashtags, and
    posts about the same thing) rank lower there from your next fresh first page. Idempotent."""

    @extend_schema(request=None, responses={204: None}, operation_id="posts_see_less")
    def post(self, request: Request, post_id: int) -> Response:
        services.post_see_less(user=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
