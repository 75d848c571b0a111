"""Who may do what, for every route in the URL conf: each route, method and actor gets the status written in
EXPECTED below. The routes are found by walking the URL conf, so a new route without a row fails
`test_every_route_has_a_row` and cannot be forgotten.

Actors, relative to the owner of the objects a route names (`maya`: her account, her cameo, her upload,
her videos; the access request is Zoe's, for Maya's cameo):
  owner, other (an adult stranger), blocked (Maya blocked them), blocker (they blocked Maya),
  minor (a teen stranger), anonymous, staff (is_staff, without any moderation permission).
A route can be exercised on more than one object ("variant"): `featuring` is a published video that Zoe
made with Maya's cameo, which someone blocked either way must not see (issue 11, item 1)."""

import json
import os
from datetime import date
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Block
from accounts.services import tokens_issue
from cameos.models import AccessRequestStatus, CameoAccessRequest, CameoUpload, LivenessChallenge
from core.signed_media import signed_media_url
from feed.models import Notification
from feed.services import comment_create
from moderation.models import Decision
from moderation.services import flag_target
from tests.factories import CameoFactory, GenerationFactory, UserFactory

ACTORS = ("owner", "other", "blocked", "blocker", "minor", "anonymous", "staff")
# Outside the walk: the admin site has its own session login and model permissions (test_admin_site).
SKIPPED_NAMESPACES = {"admin"}


def _row(
    owner,
    other,
    blocked,
    blocker,
    minor,
    anonymous,
    staff,
    *,
    xfail=None,
    raw=None,
    headers=None,
    json=None,
    page=False,
    form=None,
):
    """`page`: a web page, which knows sessions (each actor signs in with one, not a token) and answers HTML;
    `form`: the fields it posts, as a browser's form does."""
    return {
        "json": json,
        "page": page,
        "form": form,
        "statuses": dict(zip(ACTORS, (owner, other, blocked, blocker, minor, anonymous, staff), strict=True)),
        "xfail": xfail or {},
        "raw": raw,
        "headers": headers or {},
    }


# (route name, method, variant) -> the status for owner, other, blocked, blocker, minor, anonymous, staff.
# Requests carry no body unless the row gives one: creation endpoints answer 400 to everyone signed in, and
# what is checked there is that anonymous gets 401.
EXPECTED: dict[tuple[str, str, str], dict] = {
    ("auth-csrf", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("auth-email-resend", "POST", "main"): _row(202, 202, 202, 202, 202, 401, 202),
    ("auth-email-verify", "POST", "main"): _row(400, 400, 400, 400, 400, 400, 400),
    ("auth-login", "POST", "main"): _row(400, 400, 400, 400, 400, 400, 400),
    ("auth-logout", "POST", "main"): _row(400, 400, 400, 400, 400, 400, 400),
    ("auth-password-change", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    # The admin's login form, throttled per address (the rest of the admin: test_admin_site).
    ("admin-login", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    # The web sign-in form (pages know sessions, not the API tokens these cells carry); signing out always
    # ends on the sign-in page.
    ("web-sign-in", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("web-sign-out", "POST", "main"): _row(302, 302, 302, 302, 302, 302, 302),
    ("auth-refresh", "POST", "main"): _row(400, 400, 400, 400, 400, 400, 400),
    ("auth-session-login", "POST", "main"): _row(400, 400, 400, 400, 400, 400, 400),
    ("auth-session-logout", "POST", "main"): _row(204, 204, 204, 204, 204, 204, 204),
    ("auth-signup", "POST", "main"): _row(400, 400, 400, 400, 400, 400, 400),
    ("cameos", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("cameos", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("cameos-access-request", "DELETE", "main"): _row(204, 404, 404, 404, 404, 401, 404),
    ("cameos-access-request-approve", "POST", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("cameos-access-request-deny", "POST", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("cameos-access-requests", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("cameos-appearance-remove", "DELETE", "main"): _row(204, 404, 404, 404, 404, 401, 404),
    ("cameos-appearances", "GET", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("cameos-appearances-all", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("cameos-card", "GET", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("cameos-challenges", "POST", "main"): _row(201, 201, 201, 201, 201, 401, 201),
    ("cameos-characters", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("cameos-detail", "DELETE", "main"): _row(202, 404, 404, 404, 404, 401, 404),
    ("cameos-detail", "GET", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("cameos-detail", "PATCH", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("cameos-media", "GET", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("cameos-request-access", "POST", "main"): _row(400, 201, 404, 404, 201, 401, 201),
    ("cameos-upload", "GET", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("cameos-upload", "DELETE", "main"): _row(204, 404, 404, 404, 404, 401, 404),
    # A real chunk at the right offset, so that ownership, not the missing header, decides.
    ("cameos-upload", "PATCH", "main"): _row(
        200, 404, 404, 404, 404, 401, 404, raw=b"0123456789", headers={"HTTP_UPLOAD_OFFSET": "0"}
    ),
    ("cameos-upload-complete", "POST", "main"): _row(409, 404, 404, 404, 404, 401, 404),
    ("cameos-uploads", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("^api/", "GET", "main"): _row(404, 404, 404, 404, 404, 404, 404),  # the JSON catch-all
    ("docs", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("feed", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("generations", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("generations", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("generations-cancel", "POST", "main"): _row(409, 404, 404, 404, 404, 401, 404),
    ("generations-detail", "DELETE", "main"): _row(204, 404, 404, 404, 404, 401, 404),
    ("generations-detail", "GET", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("generations-publish", "DELETE", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("generations-publish", "POST", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("healthz", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("metrics", "GET", "main"): _row(404, 404, 404, 404, 404, 404, 404),
    # Moderation: no actor here holds the moderator role (staff status is not one): 403 to all signed in.
    ("moderation-audit", "GET", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("moderation-audit-export", "GET", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("moderation-case", "GET", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("moderation-case-claim", "DELETE", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("moderation-case-claim", "POST", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("moderation-case-decision", "POST", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("moderation-case-notes", "POST", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("moderation-case-appeal-decision", "POST", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    # Decisions about Maya (a warning): she lists and appeals hers; to anyone else it does not exist.
    ("me-decisions", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("decisions-appeal", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("decisions-appeal", "POST", "text"): _row(
        201, 404, 404, 404, 404, 401, 404, json=lambda world: {"text": "I did not spam."}
    ),
    ("moderation-cases", "GET", "main"): _row(403, 403, 403, 403, 403, 401, 403),
    ("provenance-check", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("reports", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("reports", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("readyz", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("realtime-ping", "POST", "main"): _row(202, 202, 202, 202, 202, 401, 202),
    ("redoc", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("schema", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("signed-media", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200),
    ("users-block", "DELETE", "main"): _row(204, 204, 204, 204, 204, 401, 204),
    ("users-block", "POST", "main"): _row(400, 204, 204, 204, 204, 401, 204),
    ("users-detail", "GET", "main"): _row(200, 200, 404, 404, 200, 200, 200),
    ("users-follow", "DELETE", "main"): _row(204, 204, 204, 204, 204, 401, 204),
    ("users-follow", "POST", "main"): _row(400, 204, 404, 404, 204, 401, 204),
    ("users-followers", "GET", "main"): _row(200, 200, 404, 404, 200, 200, 200),
    ("users-following", "GET", "main"): _row(200, 200, 404, 404, 200, 200, 200),
    ("users-me", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("users-me", "PATCH", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("users-me-blocks", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("users-me-delete", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("users-me-mutes", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("users-me-mutuals", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("users-mute", "DELETE", "main"): _row(204, 204, 204, 204, 204, 401, 204),
    ("users-mute", "POST", "main"): _row(400, 204, 404, 404, 204, 401, 204),
    # Zoe's published video with Maya's cameo in it: whoever is blocked by Maya, or blocks her, must not
    # see it (issue 11 item 1); Maya sees it, and cannot delete, publish or cancel what Zoe made.
    ("generations-detail", "GET", "featuring"): _row(200, 404, 404, 404, 404, 401, 404),
    ("generations-detail", "DELETE", "featuring"): _row(404, 404, 404, 404, 404, 401, 404),
    ("generations-publish", "POST", "featuring"): _row(404, 404, 404, 404, 404, 401, 404),
    ("cameos-appearance-remove", "DELETE", "featuring"): _row(204, 404, 404, 404, 404, 401, 404),
    # ...nor remix it.
    ("generations", "POST", "remix"): _row(
        201,
        201,
        404,
        404,
        201,
        401,
        201,
        json=lambda world: {"prompt": "a cat dances on the moon", "remix_of": world.featuring.pk},
    ),
    # Posts (issue 12): Maya's published video is her post; Zoe's video with Maya's cameo is `featuring`.
    ("posts", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("posts-detail", "GET", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-detail", "PATCH", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("posts-detail", "DELETE", "main"): _row(204, 404, 404, 404, 404, 401, 404),
    ("posts-unpublish", "POST", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("posts-tag-remove", "DELETE", "main"): _row(204, 404, 404, 404, 404, 401, 404),
    ("posts-detail", "GET", "featuring"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-detail", "DELETE", "featuring"): _row(404, 404, 404, 404, 404, 401, 404),
    ("posts-tag-remove", "DELETE", "featuring"): _row(204, 404, 404, 404, 404, 401, 404),
    ("posts-like", "POST", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-like", "DELETE", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-like", "POST", "featuring"): _row(200, 200, 404, 404, 200, 401, 200),
    ("feed-following", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    # For You and its steering are the caller's own; see-less needs a post the caller may see.
    ("feed-for-you", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("feed-steering", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("feed-steering", "PUT", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("feed-steering", "PUT", "text"): _row(
        200, 200, 200, 200, 200, 401, 200, json=lambda world: {"text": "more cats, less rain"}
    ),
    ("feed-steering", "DELETE", "main"): _row(204, 204, 204, 204, 204, 401, 204),
    ("posts-see-less", "POST", "main"): _row(204, 204, 404, 404, 204, 401, 204),
    ("posts-see-less", "POST", "featuring"): _row(204, 204, 404, 404, 204, 401, 204),
    # A cameo's posts: only for those who may see the cameo (blocked either way: not found).
    ("cameos-posts", "GET", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("users-posts", "GET", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-remixes", "GET", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-remixes", "GET", "featuring"): _row(200, 200, 404, 404, 200, 401, 200),
    # The remix tree: whoever may see the post, signed in (as for its remixes); not found for the others.
    ("posts-remix-tree", "GET", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-remix-tree", "GET", "featuring"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-comments", "GET", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-comments", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("posts-comments", "POST", "text"): _row(
        201, 201, 404, 404, 201, 401, 201, json=lambda world: {"text": "nice"}
    ),
    ("comments-detail", "PATCH", "main"): _row(
        200, 404, 404, 404, 404, 401, 404, json=lambda world: {"text": "edited"}
    ),
    ("comments-detail", "DELETE", "main"): _row(204, 404, 404, 404, 404, 401, 404),
    ("notifications", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("notifications-unread-count", "GET", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    ("notifications-read-all", "POST", "main"): _row(200, 200, 200, 200, 200, 401, 200),
    # The owner's notification (Zoe followed her): anyone else's read of it is "not found".
    ("notifications-read", "POST", "main"): _row(200, 404, 404, 404, 404, 401, 404),
    ("posts-views", "POST", "main"): _row(400, 400, 400, 400, 400, 401, 400),
    ("posts-views", "POST", "event"): _row(
        200,
        200,
        200,
        200,
        200,
        401,
        200,
        json=lambda world: {"events": [{"post_id": world.generation.pk, "watch_ms": 1000}]},
    ),
    ("posts-share", "POST", "main"): _row(200, 200, 404, 404, 200, 401, 200),
    ("posts-share", "POST", "featuring"): _row(200, 200, 404, 404, 200, 401, 200),
    # The web pages (feed/web), signed in with a session. Share pages and a creator's page: whoever may see
    # the post or person, anonymous included; 404 (an HTML page) for those blocked either way.
    ("web-home", "GET", "main"): _row(200, 200, 200, 200, 200, 200, 200, page=True),
    ("web-post", "GET", "main"): _row(200, 200, 404, 404, 200, 200, 200, page=True),
    ("web-post", "GET", "featuring"): _row(200, 200, 404, 404, 200, 200, 200, page=True),
    ("web-profile", "GET", "main"): _row(200, 200, 404, 404, 200, 200, 200, page=True),
    # The cameo page: everyone signed in has their own (302: anonymous to the sign-in page); its actions
    # answer the owner with a redirect back to it, and anyone else with 404 (not theirs).
    ("web-cameo", "GET", "main"): _row(200, 200, 200, 200, 200, 302, 200, page=True),
    ("web-cameo-permission", "POST", "main"): _row(
        302, 404, 404, 404, 404, 302, 404, page=True, form=lambda world: {"permission": "mutuals"}
    ),
    ("web-cameo-request-approve", "POST", "main"): _row(302, 404, 404, 404, 404, 302, 404, page=True),
    ("web-cameo-request-deny", "POST", "main"): _row(302, 404, 404, 404, 404, 302, 404, page=True),
    ("web-cameo-take-down", "POST", "main"): _row(302, 404, 404, 404, 404, 302, 404, page=True),
    ("web-cameo-take-down", "POST", "featuring"): _row(302, 404, 404, 404, 404, 302, 404, page=True),
    # The moderator console (moderation/console), signed in with a session: no actor here holds the role
    # (staff status is not one), so 403 to all signed in; anonymous visitors are sent to sign in.
    ("moderation-console-queue", "GET", "main"): _row(403, 403, 403, 403, 403, 302, 403, page=True),
    ("moderation-console-case", "GET", "main"): _row(403, 403, 403, 403, 403, 302, 403, page=True),
    ("moderation-console-case-claim", "POST", "main"): _row(403, 403, 403, 403, 403, 302, 403, page=True),
    ("moderation-console-case-release", "POST", "main"): _row(403, 403, 403, 403, 403, 302, 403, page=True),
    ("moderation-console-case-decision", "POST", "main"): _row(403, 403, 403, 403, 403, 302, 403, page=True),
    ("moderation-console-case-appeal-decision", "POST", "main"): _row(
        403, 403, 403, 403, 403, 302, 403, page=True
    ),
    ("moderation-console-case-notes", "POST", "main"): _row(403, 403, 403, 403, 403, 302, 403, page=True),
    ("moderation-console-audit", "GET", "main"): _row(403, 403, 403, 403, 403, 302, 403, page=True),
}


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            if pattern.namespace in SKIPPED_NAMESPACES:
                continue
            yield from _walk(pattern, route, inner)
        elif isinstance(pattern, URLPattern):
            yield route, (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def _methods(pattern: URLPattern) -> list[str]:
    view = getattr(pattern.callback, "view_class", None)
    if view is None:
        return ["GET"]
    return sorted(
        m.upper() for m in view.http_method_names if m not in ("options", "head") and hasattr(view, m)
    )


def routes() -> list[tuple[str, str, str]]:
    """(route name, or the pattern when it has none; method; the pattern) for every route."""
    found = []
    for route, name, pattern in _walk(get_resolver()):
        for method in _methods(pattern):
            found.append((name or route, method, route))
    return found


class World:
    """The objects every route may name, built fresh for each cell."""

    def __init__(self) -> None:
        # password=None: no password hashing, seven users for each of hundreds of cells.
        self.owner = UserFactory(username="maya", password=None)
        self.zoe = UserFactory(username="zoe", password=None)
        adults = {name: UserFactory(username=name, password=None) for name in ("other", "blocked", "blocker")}
        self.users = {
            "owner": self.owner,
            **adults,
            "minor": UserFactory(
                username="minor", password=None, birth_date=date(timezone.now().year - 15, 1, 1)
            ),
            "anonymous": None,
            "staff": UserFactory(username="staff", password=None, is_staff=True),
        }
        Block.objects.create(blocker=self.owner, blocked=adults["blocked"])
        Block.objects.create(blocker=adults["blocker"], blocked=self.owner)
        self.cameo = CameoFactory(owner=self.owner, permission="everyone")
        self.access_request = CameoAccessRequest.objects.create(
            cameo=self.cameo, requester=self.zoe, status=AccessRequestStatus.PENDING
        )
        challenge = LivenessChallenge.objects.create(
            user=self.owner, digits="4729", expires_at="2999-01-01T00:00:00Z"
        )
        self.upload = CameoUpload.objects.create(
            owner=self.owner, challenge=challenge, size=10, expires_at="2999-01-01T00:00:00Z"
        )
        (settings.CAMEO_UPLOAD_SPOOL_DIR / f"{self.upload.pk}.part").touch()  # as upload_start leaves it
        now = timezone.now()
        self.generation = GenerationFactory(requester=self.owner, cameos=[self.cameo], published_at=now)
        self.featuring = GenerationFactory(requester=self.zoe, cameos=[self.cameo], published_at=now)
        self.comment = comment_create(author=self.owner, post_id=self.generation.pk, text="hi")
        # A link to the owner's published video, handed to the owner: the link is a capability, so whoever
        # holds it plays the file while the owner still may.
        stored = default_storage.save(
            f"generations/{self.owner.pk}/{self.generation.pk}/video.mp4", ContentFile(b"\x00" * 64)
        )
        self.generation.video = stored
        self.generation.save(update_fields=["video"])
        self.case = flag_target(target=self.featuring, source="report", reason="spam", priority=10).case
        about_owner = flag_target(target=self.owner, source="report", reason="spam", priority=10).case
        self.decision = Decision.objects.create(case=about_owner, action="warn", rule="spam")
        self.notification = Notification.objects.create(
            recipient=self.owner, kind="follow", actor=self.zoe, notified_at=now
        )
        self.media_token = signed_media_url(
            stored, 300, request=RequestFactory().get("/"), viewer_id=self.owner.pk
        ).rsplit("/", 1)[-1]

    def kwargs(self, route: str, variant: str) -> dict:
        generation = self.featuring if variant == "featuring" else self.generation
        values = {
            "username": self.owner.username,
            "cameo_id": self.cameo.pk,
            "generation_id": generation.pk,
            "post_id": generation.pk,
            "comment_id": self.comment.pk,
            "upload_id": self.upload.pk,
            "request_id": self.access_request.pk,
            "token": self.media_token,
            "case_id": self.case.pk,
            "decision_id": self.decision.pk,
            "notification_id": self.notification.pk,
        }
        return {key: value for key, value in values.items() if f"<{key}>" in route or f":{key}>" in route}

    def client(self, actor: str, *, session: bool = False) -> APIClient:
        client = APIClient()
        user = self.users[actor]
        if user is not None and session:
            client.force_login(user)
        elif user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
        return client


def _path(name: str, route: str, world: World, variant: str) -> str:
    if "^" in route:  # the API's catch-all
        return "/api/v1/no-such-route/"
    return reverse(name, kwargs=world.kwargs(route, variant))


def _cells():
    for name, method, route in routes():
        variants = sorted({v for (n, m, v) in EXPECTED if (n, m) == (name, method)}) or ["main"]
        for variant in variants:
            for actor in ACTORS:
                row = EXPECTED.get((name, method, variant))
                marks = []
                if row is not None and actor in row["xfail"]:
                    marks.append(pytest.mark.xfail(strict=True, reason=row["xfail"][actor]))
                yield pytest.param(
                    name,
                    method,
                    route,
                    variant,
                    actor,
                    id=f"{method} {name} [{variant}] {actor}",
                    marks=marks,
                )


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "route", "variant", "actor"), list(_cells()))
def test_route_answers_each_actor_as_written(name, method, route, variant, actor, settings, tmp_path):
    settings.CAMEO_UPLOAD_SPOOL_DIR = tmp_path / "spool"
    settings.CAMEO_UPLOAD_SPOOL_DIR.mkdir()
    world = World()
    row = EXPECTED.get((name, method, variant)) or {}
    raw = row.get("raw")
    data = json.dumps(row["json"](world)) if row.get("json") else ""
    content_type = "application/octet-stream" if raw else "application/json"
    if row.get("form"):
        data, content_type = urlencode(row["form"](world)), "application/x-www-form-urlencoded"

    response = world.client(actor, session=row.get("page", False)).generic(
        method,
        _path(name, route, world, variant),
        raw or data,
        content_type=content_type,
        **row.get("headers", {}),
    )

    if os.environ.get("MATRIX_PRINT"):
        print(f"MATRIX {name}|{method}|{variant}|{actor}|{response.status_code}")
        return
    assert row, f"no row for {method} {name}"
    assert response.status_code == row["statuses"][actor], response.content[:300]
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("text/html" if row["page"] else "application/json")


def test_every_route_has_a_row():
    listed = {(name, method) for (name, method, _variant) in EXPECTED}
    found = {(name, method) for name, method, _route in routes()}

    assert found - listed == set(), "routes without a row in EXPECTED"
    assert listed - found == set(), "rows for routes that no longer exist"


def _admin_paths() -> list[str]:
    from django.contrib import admin

    models = sorted(f"{m._meta.app_label}/{m._meta.model_name}" for m in admin.site._registry)
    return ["/admin/"] + [f"/admin/{m}/" for m in models] + [f"/admin/{m}/add/" for m in models]


@pytest.mark.django_db
@pytest.mark.parametrize("path", _admin_paths())
def test_admin_site(path, settings, tmp_path):
    """Session login; 302 is to the admin's login page. Staff without a moderation permission reach the
    index and no model's pages (every registered model's list and add page is walked)."""
    settings.CAMEO_UPLOAD_SPOOL_DIR = tmp_path / "spool"
    settings.CAMEO_UPLOAD_SPOOL_DIR.mkdir()
    world = World()
    for actor in ACTORS:
        client = APIClient()
        if world.users[actor] is not None:
            client.force_login(world.users[actor])

        response = client.get(path)

        expected = 302 if actor != "staff" else 200 if path == "/admin/" else 403
        assert response.status_code == expected, (actor, path)
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/login/")
