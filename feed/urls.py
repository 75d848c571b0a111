from django.urls import path

from feed import apis
from feed.notifications import apis as notification_apis
from feed.ranking import apis as ranking_apis

urlpatterns = [
    path("feed/", apis.FeedApi.as_view(), name="feed"),
    path("feed/following/", apis.FollowingFeedApi.as_view(), name="feed-following"),
    path("feed/for-you/", ranking_apis.ForYouApi.as_view(), name="feed-for-you"),
    path("feed/steering/", ranking_apis.SteeringApi.as_view(), name="feed-steering"),
    path("posts/<int:post_id>/see-less/", ranking_apis.PostSeeLessApi.as_view(), name="posts-see-less"),
    path("cameos/<int:cameo_id>/posts/", apis.CameoPostsApi.as_view(), name="cameos-posts"),
    path("users/<str:username>/posts/", apis.ProfilePostsApi.as_view(), name="users-posts"),
    path("posts/<int:post_id>/remixes/", apis.PostRemixesApi.as_view(), name="posts-remixes"),
    path("posts/<int:post_id>/remix-tree/", apis.PostRemixTreeApi.as_view(), name="posts-remix-tree"),
    path("posts/views/", apis.PostViewsApi.as_view(), name="posts-views"),
    path("posts/", apis.PostPublishApi.as_view(), name="posts"),
    path("posts/<int:post_id>/", apis.PostDetailApi.as_view(), name="posts-detail"),
    path("posts/<int:post_id>/unpublish/", apis.PostUnpublishApi.as_view(), name="posts-unpublish"),
    path("posts/<int:post_id>/like/", apis.PostLikeApi.as_view(), name="posts-like"),
    path("posts/<int:post_id>/share/", apis.PostShareApi.as_view(), name="posts-share"),
    path("posts/<int:post_id>/comments/", apis.PostCommentsApi.as_view(), name="posts-comments"),
    path("comments/<int:comment_id>/", apis.CommentDetailApi.as_view(), name="comments-detail"),
    path("posts/<int:post_id>/tag/", apis.PostTagRemoveApi.as_view(), name="posts-tag-remove"),
    path("notifications/", notification_apis.NotificationListApi.as_view(), name="notifications"),
    path(
        "notifications/unread-count/",
        notification_apis.NotificationUnreadCountApi.as_view(),
        name="notifications-unread-count",
    ),
    path(
        "notifications/read-all/",
        notification_apis.NotificationReadAllApi.as_view(),
        name="notifications-read-all",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        notification_apis.NotificationReadApi.as_view(),
        name="notifications-read",
    ),
]
