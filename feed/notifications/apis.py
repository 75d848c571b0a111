"""Notifications API: your list (newest first, read and unread), the unread count, mark one read, mark all
read. The same view of a notification arrives on your socket as a `notification` event."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feed.notifications import selectors, services
from feed.notifications.serializers import NotificationSerializer
from feed.pagination import NotificationKeysetPagination


class NotificationListApi(ListAPIView):
    """Your notifications, newest first (an aggregate, such as the likes of one video, moves to the top
    when it is announced again). `?unread=true` lists only the unread ones. Nothing from people you block,
    who block you, or whom you mute; a notification about a post you may no longer see leaves the post
    out."""

    serializer_class = NotificationSerializer
    pagination_class = NotificationKeysetPagination

    def get_queryset(self) -> Any:
        unread = self.request.query_params.get("unread")
        if unread not in (None, "true", "false"):
            raise ValidationError({"unread": [f"Must be true or false; got {unread!r}."]})
        return selectors.notifications_for(recipient=self.request.user, unread_only=unread == "true")

    @extend_schema(
        operation_id="notifications_list",
        parameters=[OpenApiParameter("unread", bool, description="true: only the unread ones.")],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class _UnreadCountSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()


class NotificationUnreadCountApi(APIView):
    """How many of your notifications are unread (what the list with `?unread=true` holds)."""

    class OutputSerializer(_UnreadCountSerializer):
        pass

    @extend_schema(responses={200: OutputSerializer}, operation_id="notifications_unread_count")
    def get(self, request: Request) -> Response:
        count = selectors.notification_unread_count(recipient=request.user)
        return Response(self.OutputSerializer({"unread_count": count}).data)


class NotificationReadApi(APIView):
    """Mark one of your notifications read (marking it again changes nothing)."""

    @extend_schema(request=None, responses={200: NotificationSerializer}, operation_id="notifications_read")
    def post(self, request: Request, notification_id: int) -> Response:
        notification = services.notification_mark_read(
            recipient=request.user, notification_id=notification_id
        )
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllApi(APIView):
    """Mark all your notifications read."""

    class OutputSerializer(_UnreadCountSerializer):
        marked = serializers.IntegerField(help_text="How many were unread.")

    @extend_schema(request=None, responses={200: OutputSerializer}, operation_id="notifications_read_all")
    def post(self, request: Request) -> Response:
        marked = services.notifications_mark_all_read(recipient=request.user)
        count = selectors.notification_unread_count(recipient=request.user)
        return Response(self.OutputSerializer({"marked": marked, "unread_count": count}).data)
