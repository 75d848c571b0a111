from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from moderation.roles import ADMINISTER, MODERATE


class IsModerator(BasePermission):
    """The moderator role (or admin, which includes it); staff status alone is not enough. Every
    moderation endpoint uses it, so a non-moderator gets 403 before any object is looked up."""

    message = "Only moderators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(MODERATE))


class IsModerationAdmin(BasePermission):
    """The admin role: reads and exports the audit log."""

    message = "Only moderation admins may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(ADMINISTER))
