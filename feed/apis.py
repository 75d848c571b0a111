"""Feed API: posts (publish a finished video with a caption and an audience, edit, unpublish, delete, a
cameo owner's tag removal) and the feed of posts.

Output serializers are per audience: `PostSerializer` is what anyone who may see a post gets (never the
prompt, its parsed specification, or the job's internals: stage, progress, failure reason, engine);
`PostAuthorSerializer` adds what only the author may know."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from core.pagination import CursorPagination
from core.serializers import StrictInputSerializer
from core.signed_media import SIGNED_MEDIA_URL_HELP, public_url, signed_media_url
from feed import selectors, services
from feed.cards import Card, cameo_tags, formatted_time, post_card, post_cards
from feed.models import (
    CAPTION_MAX_CHARS,
    COMMENT_MAX_CHARS,
    MAX_VIEW_EVENTS,
    MAX_WATCH_MS,
    Comment,
    Post,
    PostVisibility,
)
from feed.pagination import PublishedKeysetPagination
from feed.visible_ids import visible_post_ids
from generation.models import Generation
from generation.selectors import generation_media_playable_by


class PostCameoSerializer(serializers.Serializer):
    mention = serializers.CharField(help_text="The cameo's @handle as the prompt named it.")
    owner = serializers.CharField(help_text="Its owner's username.")


def _hide_sources_unseen(posts: list[dict[str, Any]], *, context: dict[str, Any]) -> None:
    """Null the `remix_of` of `posts` (serialised) whose source the viewer may not see: a source's id would
    tell that a post they cannot open exists, and who remixed it. The posts themselves, and the ids in
    `context["posts_visible"]` (the nodes of a remix tree), are known to be visible; the rest are asked of
    the rule in one query (`visible_post_ids`), and only when there are any."""
    known = {post["id"] for post in posts} | context.get("posts_visible", set())
    asked = {post["remix_of"] for post in posts if post["remix_of"] is not None} - known
    if not asked:
        return
    shown = visible_post_ids(viewer=context["request"].user, post_ids=sorted(asked))
    for post in posts:
        if post["remix_of"] in asked and post["remix_of"] not in shown:
            post["remix_of"] = None


class PostListSerializer(serializers.ListSerializer):
    """A page of posts: the sources their `remix_of` names are asked of the rule once for the page."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        posts = super().to_representation(data)
        _hide_sources_unseen(posts, context=self.context)
        return posts


class PostSerializer(serializers.Serializer):
    """A post as anyone who may see it sees it: what its author chose to publish, and nothing of how the
    video was made."""

    class Meta:
        list_serializer_class = PostListSerializer

    id = serializers.IntegerField(help_text="The post's id, which is its video's id.")
    author = serializers.CharField(source="requester.username")
    author_display_name = serializers.CharField(source="requester.display_name")
    caption = serializers.CharField(source="post.caption")
    hashtags = serializers.ListField(child=serializers.CharField(), source="post.hashtags")
    mentions = serializers.ListField(
        child=serializers.CharField(), source="post.mentions", help_text="Usernames mentioned."
    )
    visibility = serializers.ChoiceField(choices=PostVisibility.choices, source="post.visibility")
    comments_enabled = serializers.BooleanField(source="post.comments_enabled")
    like_count = serializers.IntegerField(source="post.like_count")
    comment_count = serializers.IntegerField(source="post.comment_count")
    view_count = serializers.IntegerField(source="post.view_count", help_text="Distinct viewers.")
    remix_count = serializers.IntegerField(
        help_text="Published remixes of it that are up; `GET /posts/{id}/remixes/` lists those you may see."
    )
    share_count = serializers.IntegerField(
        source="post.share_count", help_text="Distinct people who shared it."
    )
    cameos = serializers.SerializerMethodField()
    remix_of = serializers.IntegerField(
        source="remix_of_id",
        allow_null=True,
        help_text="The video this one remixes; null also when it is one you may not see (private, its "
        "author blocked you, taken down, …): only a video you could open is named.",
    )
    status = serializers.CharField(help_text="Always `succeeded`: only finished videos are posted.")
    video_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    published_at = serializers.DateTimeField()

    def to_representation(self, post: Generation | Card) -> dict[str, Any]:
        """The fields declared above, from the post's card (`post_card`: read directly, where DRF's walk
        over the fields was a third of a feed page's Python time) or from a card kept by `feed.cards`, and
        the media links signed for this viewer. Held equal to DRF's walk, post by post, in
        tests/feed/test_post_serializer.py."""
        if isinstance(post, Generation):
            card = post_card(post)
            if not generation_media_playable_by(
                generation=post, viewer=self.context["request"].user, audience_admits=True
            ):
                card["media"] = ("", "")
        else:
            card = post  # kept only for posts the viewer was let see, whose media everyone they admit plays
        data = {name: value for name, value in card.items() if name != "media"}
        video, poster = card["media"]
        data["video_url"], data["poster_url"] = self._link(video), self._link(poster)
        if not isinstance(self.parent, serializers.ListSerializer):  # a page asks once for all its posts
            _hide_sources_unseen([data], context=self.context)
        return data

    def _link(self, name: str) -> str | None:
        if not name:
            return None
        request = self.context["request"]
        return signed_media_url(
            name, settings.MEDIA_URL_EXPIRY_SECONDS, request=request, viewer_id=request.user.pk
        )

    # What DRF's walk over the fields calls (and the schema describes); `to_representation` reads the card.
    @extend_schema_field(PostCameoSerializer(many=True))
    def get_cameos(self, generation: Generation) -> list[dict[str, str]]:
        return cameo_tags((use.pk, use.handle, use.owner.username) for use in generation.cameo_uses.all())

    def _playable(self, generation: Generation, name: str) -> str:
        viewer = self.context["request"].user
        # Every post serialised here was read through `posts_visible_to(viewer)`.
        playable = generation_media_playable_by(generation=generation, viewer=viewer, audience_admits=True)
        return name if playable else ""

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="The H.264/AAC mp4. " + SIGNED_MEDIA_URL_HELP)
    )
    def get_video_url(self, generation: Generation) -> str | None:
        return self._link(self._playable(generation, generation.video.name if generation.video else ""))

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="The poster frame (JPEG). " + SIGNED_MEDIA_URL_HELP)
    )
    def get_poster_url(self, generation: Generation) -> str | None:
        return self._link(self._playable(generation, generation.poster.name if generation.poster else ""))


class PostAuthorSerializer(PostSerializer):
    """A post as its author sees it: also whether it is in the feed now, and whether a cameo owner removed
    their tag (which takes it out of every feed for good)."""

    published_at = serializers.DateTimeField(allow_null=True, help_text="None: back among your drafts.")
    tag_removed_at = serializers.DateTimeField(source="post.tag_removed_at", allow_null=True)

    def to_representation(self, post: Generation | Card) -> dict[str, Any]:
        assert isinstance(post, Generation), "an author's view is read from the post, never from a card"
        return {**super().to_representation(post), "tag_removed_at": formatted_time(post.post.tag_removed_at)}


def _author_view(post_id: int, request: Request, code: int = status.HTTP_200_OK) -> Response:
    generation = selectors.with_everything_a_page_shows(Generation.objects.filter(pk=post_id)).get()
    return Response(PostAuthorSerializer(generation, context={"request": request}).data, status=code)


class _PageOfCandidates:
    """A feed read as `feed.pagination.keyset_page` reads one from candidates: the view names a page's
    candidates (`page_candidates`, newest first, by an index alone), the visibility rule keeps those the
    viewer may see (one query, `feed.visible_ids`) and the page is shown from the posts' cards
    (`feed.cards`), never from a queryset. Why: asked in one query with the rule, PostgreSQL walked the
    newest posts through the rule row by row, and building the rule was most of a page's Python time
    (bench/RESULTS.md)."""

    request: Request

    def get_queryset(self) -> Any:
        return Generation.objects.none()  # read through page_candidates, page_visible and page_fetch

    def page_visible(self, post_ids: list[int]) -> set[int]:
        return visible_post_ids(viewer=self.request.user, post_ids=post_ids)

    def page_fetch(self, post_ids: list[int]) -> list[Card]:
        return post_cards(post_ids=post_ids)


# What a feed read from candidates says of its pages.
_SHORT_PAGES = (
    "The cursor is a keyset on (published_at, id): posts published while you scroll never shift a later "
    "page. A page may hold fewer posts than `page_size` (even none) and still have a `next` link, when most "
    "of the posts it looked at are hidden from you: follow `next` until it is null."
)


class FeedApi(_PageOfCandidates, ListAPIView):
    __doc__ = (
        "Every post you may see, newest first. Left out: posts whose audience you are not in (followers, "
        "mutuals, private), posts of people you blocked or who blocked you, or you muted, and posts "
        "featuring a cameo of anyone in either case. " + _SHORT_PAGES
    )

    serializer_class = PostSerializer
    pagination_class = PublishedKeysetPagination

    def page_candidates(
        self, *, before: tuple[datetime, int] | None, limit: int
    ) -> list[tuple[datetime, int]]:
        return selectors.newest_candidates(before=before, limit=limit)

    @extend_schema(operation_id="feed_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class _PostSettingsInput(StrictInputSerializer):
    caption = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=CAPTION_MAX_CHARS,
        trim_whitespace=False,
        help_text="Shown with the video; @mentions and #hashtags in it are recognised.",
    )
    visibility = serializers.ChoiceField(
        choices=PostVisibility.choices,
        required=False,
        help_text="Who sees the post: anyone, your followers, your mutuals, or only you.",
    )
    comments_enabled = StrictBooleanField(required=False)


class PostPublishApi(APIView):
    """Publish your finished video as a post. Every cameo in it must still be yours to use (asked now), and
    no cameo owner may have removed their tag from it. Publishing a video already published updates its
    post; fields not given keep their value (public, no caption, comments on the first time)."""

    class InputSerializer(_PostSettingsInput):
        generation_id = StrictIntegerField(help_text="Your finished video.")

    @extend_schema(
        request=InputSerializer, responses={200: PostAuthorSerializer}, operation_id="posts_publish"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_publish(author=request.user, **data.validated_data)
        return _author_view(post.pk, request)


class PostDetailApi(APIView):
    """A post you may see; PATCH changes your post's caption, audience or comment setting; DELETE deletes
    your post and its video."""

    class InputSerializer(_PostSettingsInput):
        pass

    @extend_schema(responses={200: PostSerializer}, operation_id="posts_get")
    def get(self, request: Request, post_id: int) -> Response:
        generation = selectors.post_get_visible(viewer=request.user, post_id=post_id)
        if generation.requester_id == request.user.pk:
            return _author_view(post_id, request)
        return Response(PostSerializer(generation, context={"request": request}).data)

    @extend_schema(
        request=InputSerializer, responses={200: PostAuthorSerializer}, operation_id="posts_update"
    )
    def patch(self, request: Request, post_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.post_update(author=request.user, post_id=post_id, **data.validated_data)
        return _author_view(post_id, request)

    @extend_schema(request=None, responses={204: None}, operation_id="posts_delete")
    def delete(self, request: Request, post_id: int) -> Response:
        services.post_delete(author=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostUnpublishApi(APIView):
    """Take your post out of the feed: the video goes back to your drafts, the caption and audience stay."""

    @extend_schema(request=None, responses={200: PostAuthorSerializer}, operation_id="posts_unpublish")
    def post(self, request: Request, post_id: int) -> Response:
        post: Post = services.post_unpublish(author=request.user, post_id=post_id)
        return _author_view(post.pk, request)


class PostTagRemoveApi(APIView):
    """Remove your tag from a post that features your cameo, whoever made it. This takes the post out of
    every feed and every page that shows it, at once and for good: its video is unpublished and can never
    be published again (its author keeps it among their drafts). To delete the video itself, take the
    appearance down (`DELETE /api/v1/cameos/appearances/{id}/`)."""

    @extend_schema(request=None, responses={204: None}, operation_id="posts_tag_remove")
    def delete(self, request: Request, post_id: int) -> Response:
        services.post_tag_remove(owner=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostLikeApi(APIView):
    """Like a post you can see (POST), or take the like back (DELETE). Both are idempotent."""

    class OutputSerializer(serializers.Serializer):
        liked = serializers.BooleanField()
        like_count = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer}, operation_id="posts_like")
    def post(self, request: Request, post_id: int) -> Response:
        post = services.post_like(user=request.user, post_id=post_id)
        return Response(self.OutputSerializer({"liked": True, "like_count": post.like_count}).data)

    @extend_schema(request=None, responses={200: OutputSerializer}, operation_id="posts_unlike")
    def delete(self, request: Request, post_id: int) -> Response:
        post = services.post_unlike(user=request.user, post_id=post_id)
        return Response(self.OutputSerializer({"liked": False, "like_count": post.like_count}).data)


class PostShareApi(APIView):
    """Share a post you can see: the absolute link to its web page (`/v/{id}`, which anyone may open, with
    a player and link-preview tags), counted once per person however often you share it. Only a public
    post has a share page: any other is refused `post_not_public` (409)."""

    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField(help_text="The post's share page.")
        share_count = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer}, operation_id="posts_share")
    def post(self, request: Request, post_id: int) -> Response:
        post = services.post_share(user=request.user, post_id=post_id)
        url = public_url(request, reverse("web-post", kwargs={"post_id": post.pk}))
        return Response(self.OutputSerializer({"url": url, "share_count": post.share_count}).data)


class FollowingFeedApi(_PageOfCandidates, ListAPIView):
    __doc__ = (
        "Following: the posts of the people you follow, newest first, as `/feed/` filters them (audience, "
        "blocks either way and mutes, of the author and of every cameo owner in the video). " + _SHORT_PAGES
    )

    serializer_class = PostSerializer
    pagination_class = PublishedKeysetPagination

    def page_candidates(
        self, *, before: tuple[datetime, int] | None, limit: int
    ) -> list[tuple[datetime, int]]:
        return selectors.following_candidates(viewer=self.request.user, before=before, limit=limit)

    @extend_schema(operation_id="feed_following")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ProfilePostsApi(_PageOfCandidates, ListAPIView):
    __doc__ = (
        "A person's posts that you may see, newest first (not found for nobody, or someone blocked either "
        "way). " + _SHORT_PAGES
    )

    serializer_class = PostSerializer
    pagination_class = PublishedKeysetPagination

    def page_candidates(
        self, *, before: tuple[datetime, int] | None, limit: int
    ) -> list[tuple[datetime, int]]:
        return selectors.profile_candidates(
            viewer=self.request.user, username=self.kwargs["username"], before=before, limit=limit
        )

    @extend_schema(operation_id="users_posts")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PostRemixesApi(ListAPIView):
    """The posts that remix this one, newest first (those you may see)."""

    serializer_class = PostSerializer
    pagination_class = PublishedKeysetPagination

    def get_queryset(self) -> Any:
        return selectors.remixes_of_post(viewer=self.request.user, post_id=self.kwargs["post_id"])

    def get_serializer_context(self) -> dict[str, Any]:
        # The source every post of the page names, which `remixes_of_post` found visible.
        return {**super().get_serializer_context(), "posts_visible": {self.kwargs["post_id"]}}

    @extend_schema(operation_id="posts_remixes")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class RemixTreeNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="post.id", help_text="The post's id.")
    parent_id = serializers.IntegerField(
        allow_null=True,
        help_text="The node above it, the video it remixes; null for the topmost node (the first video of "
        "the lineage, or the highest one you may see).",
    )
    depth = serializers.IntegerField(
        help_text="0: the post asked for; -1, -2, …: the video it remixes, the one that one remixes, …; "
        "1, 2, …: its remixes, their remixes, …"
    )
    post = PostSerializer(help_text="The post as you see it everywhere else.")


_REMIX_TREE_BOUNDS = (
    f"at most {selectors.REMIX_TREE_MAX_ANCESTORS} sources above the post, "
    f"{selectors.REMIX_TREE_MAX_DEPTH} levels of remixes below it and "
    f"{selectors.REMIX_TREE_MAX_DESCENDANTS} posts below it in all"
)


class PostRemixTreeApi(APIView):
    """The remix tree of a post you can see: the videos it remixes up to the first one, and its remixes,
    their remixes and so on, as one flat list; a post you may not see is left out with all beyond it."""

    class OutputSerializer(serializers.Serializer):
        nodes = RemixTreeNodeSerializer(
            many=True,
            help_text="Flat, by depth then id, from the highest source to the deepest remix; each node's "
            "`parent_id` is the `id` of another node (null for the topmost), so that the tree is rebuilt "
            "from the list. Only posts you may see, each under one you may see.",
        )
        truncated = serializers.BooleanField(
            help_text=f"The bounds ({_REMIX_TREE_BOUNDS}) left posts out: ask for a node's own tree to go "
            "further."
        )

    @extend_schema(
        responses={200: OutputSerializer},
        operation_id="posts_remix_tree",
        description=(
            "The remix tree of a post you can see (else `404 post_not_found`): the videos it remixes, each "
            "the one the last remixes, up to the first one; and its remixes, their remixes and so on; "
            f"{_REMIX_TREE_BOUNDS}. One flat list of nodes (`id`, `parent_id`, `depth`: negative above the "
            "post, 0 for it, positive below; `post`: the post as you see it anywhere). A post you may not "
            "see (its audience, a block either way, a mute, taken down, deleted, unpublished, the teen "
            "rules) is left out with everything beyond it (the remixes under it, or the videos above it), "
            "never shown as a placeholder: no node names a post you could not open."
        ),
    )
    def get(self, request: Request, post_id: int) -> Response:
        tree = selectors.remix_tree_of_post(viewer=request.user, post_id=post_id)
        # Each node's source is the node above it, visible; only the topmost one's is asked of the rule.
        context = {"request": request, "posts_visible": {node.post.pk for node in tree.nodes}}
        return Response(self.OutputSerializer(tree, context=context).data)


class CameoPostsApi(ListAPIView):
    """The posts featuring a cameo, newest first: those you may see, and only when you may see the cameo
    (not found when it is not verified, its owner is gone, or either of you blocked the other)."""

    serializer_class = PostSerializer
    pagination_class = PublishedKeysetPagination

    def get_queryset(self) -> Any:
        return selectors.cameo_posts(viewer=self.request.user, cameo_id=self.kwargs["cameo_id"])

    @extend_schema(operation_id="cameos_posts")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)


class CommentSerializer(ReplySerializer):
    replies = ReplySerializer(many=True, source="replies.all", help_text="Oldest first.")


class CommentPagination(CursorPagination):
    ordering = "id"


class PostCommentsApi(ListAPIView):
    """The comments on a post you can see, oldest first, each with its replies (one level); those of people
    blocked either way or muted are left out. POST comments, or replies to a comment (`parent_id`, which
    must not itself be a reply); refused while the post's author has comments off."""

    serializer_class = CommentSerializer
    pagination_class = CommentPagination

    class InputSerializer(StrictInputSerializer):
        text = StrictCharField(max_length=COMMENT_MAX_CHARS)
        parent_id = StrictIntegerField(
            required=False, allow_null=True, default=None, help_text="The comment this one replies to."
        )

    def get_queryset(self) -> Any:
        return selectors.comments_of_post(viewer=self.request.user, post_id=self.kwargs["post_id"])

    @extend_schema(operation_id="posts_comments_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer, responses={201: ReplySerializer}, operation_id="posts_comments_create"
    )
    def post(self, request: Request, post_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_create(author=request.user, post_id=post_id, **data.validated_data)
        return Response(ReplySerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    """PATCH edits your comment; DELETE deletes your comment, or any comment on your post, with its
    replies."""

    class InputSerializer(StrictInputSerializer):
        text = StrictCharField(max_length=COMMENT_MAX_CHARS)

    @extend_schema(request=InputSerializer, responses={200: ReplySerializer}, operation_id="comments_update")
    def patch(self, request: Request, comment_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment: Comment = services.comment_update(
            author=request.user, comment_id=comment_id, text=data.validated_data["text"]
        )
        return Response(ReplySerializer(comment).data)

    @extend_schema(request=None, responses={204: None}, operation_id="comments_delete")
    def delete(self, request: Request, comment_id: int) -> Response:
        services.comment_delete(user=request.user, comment_id=comment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ViewEventSerializer(StrictInputSerializer):
    post_id = StrictIntegerField(min_value=1, max_value=2**63 - 1)
    watch_ms = StrictIntegerField(
        min_value=0, max_value=MAX_WATCH_MS, help_text="How long it was watched this time, in ms."
    )


class PostViewsApi(APIView):
    """Report what you watched, in batches (at most 50 events a request). A post counts one view per
    person however often they watch it, and its watch time adds up; your own posts, and posts you may not
    see, are not counted."""

    class InputSerializer(StrictInputSerializer):
        events = serializers.ListField(child=ViewEventSerializer(), min_length=1, max_length=MAX_VIEW_EVENTS)

    class OutputSerializer(serializers.Serializer):
        counted = serializers.IntegerField(help_text="How many distinct posts the batch counted for.")

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer}, operation_id="posts_views")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        events = [(event["post_id"], event["watch_ms"]) for event in data.validated_data["events"]]
        counted = services.views_record(viewer=request.user, events=events)
        return Response(self.OutputSerializer({"counted": counted}).data)
