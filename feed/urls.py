from django.urls import path

from feed import apis

urlpatterns = [
    path("feed/", apis.FeedApi.as_view(), name="feed"),
    path("feed/following/", apis.FollowingFeedApi.as_view(), name="feed-following"),
    path("users/<str:username>/posts/", apis.ProfilePostsApi.as_view(), name="users-posts"),
    path("posts/<int:post_id>/remixes/", apis.PostRemixesApi.as_view(), name="posts-remixes"),
    path("posts/views/", apis.PostViewsApi.as_view(), name="posts-views"),
    path("posts/", apis.PostPublishApi.as_view(), name="posts"),
    path("posts/<int:post_id>/", apis.PostDetailApi.as_view(), name="posts-detail"),
    path("posts/<int:post_id>/unpublish/", apis.PostUnpublishApi.as_view(), name="posts-unpublish"),
    path("posts/<int:post_id>/like/", apis.PostLikeApi.as_view(), name="posts-like"),
    path("posts/<int:post_id>/share/", apis.PostShareApi.as_view(), name="posts-share"),
    path("posts/<int:post_id>/comments/", apis.PostCommentsApi.as_view(), name="posts-comments"),
    path("comments/<int:comment_id>/", apis.CommentDetailApi.as_view(), name="comments-detail"),
    path("posts/<int:post_id>/tag/", apis.PostTagRemoveApi.as_view(), name="posts-tag-remove"),
]
