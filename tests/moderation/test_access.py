"""Every moderation route refuses everyone but moderators: the routes are found by walking the URL conf
(every route named `moderation-*`), so a new one cannot be forgotten."""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from moderation.permissions import IsModerationAdmin, IsModerator
from moderation.services import flag_target
from tests.factories import GenerationFactory, UserFactory, with_role

pytestmark = pytest.mark.django_db


def _all_routes(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _all_routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _moderation_routes(resolver: URLResolver):
    for _route, pattern in _all_routes(resolver):
        if (pattern.name or "").startswith("moderation-"):
            view = pattern.callback.view_class
            for method in sorted(m for m in view.http_method_names if m not in ("options", "head")):
                if hasattr(view, method):
                    yield pattern.name, method.upper(), _role_needed(view)


def _role_needed(view) -> str:
    return "admin" if IsModerationAdmin in view.permission_classes else "moderator"


ROUTES = sorted(set(_moderation_routes(get_resolver())))
# Bodies that pass validation, so that the lookup, not the input, answers.
VALID_BODIES = {
    "moderation-case-decision": {"action": "dismiss"},
    "moderation-case-appeal-decision": {"outcome": "denied", "reply": "No."},
    "moderation-case-notes": {"text": "A note."},
}


def test_the_walk_finds_the_moderation_routes():
    assert ("moderation-cases", "GET", "moderator") in ROUTES
    assert ("moderation-case-claim", "POST", "moderator") in ROUTES
    assert ("moderation-case-appeal-decision", "POST", "moderator") in ROUTES
    assert ("moderation-audit-export", "GET", "admin") in ROUTES


def test_every_route_under_moderation_is_named_for_the_walk_and_guarded():
    """A route added under `moderation/` with another name, or without the moderator permission, would
    escape the walk below: it fails here instead."""
    under = [
        (route, pattern)
        for route, pattern in _all_routes(get_resolver())
        if route.startswith("api/") and "moderation/" in route
    ]

    assert under
    for route, pattern in under:
        assert (pattern.name or "").startswith("moderation-"), route
        permissions = pattern.callback.view_class.permission_classes
        assert IsModerator in permissions or IsModerationAdmin in permissions, route


@pytest.mark.parametrize(("name", "method", "role"), ROUTES)
@pytest.mark.parametrize("actor", ["plain", "staff", "anonymous", "moderator", "admin"])
def test_only_moderators_pass(name, method, role, actor, client_for, api_client):
    """Moderator routes: moderators and admins; admin routes (the audit log): admins only."""
    owner = UserFactory(username="owner")
    case = flag_target(target=GenerationFactory(requester=owner), source="output_check", reason="x").case
    users = {
        "plain": owner,  # even the user the case is about
        "staff": UserFactory(username="staff", is_staff=True),
        "moderator": with_role(UserFactory(username="mod"), "moderator"),
        "admin": with_role(UserFactory(username="boss"), "admin"),
    }
    client = api_client if actor == "anonymous" else client_for(users[actor])
    path = reverse(name, kwargs={"case_id": case.pk} if "case_id" in _parameters_of(name) else {})

    response = client.generic(method, path, "{}", content_type="application/json")

    if actor == "admin" or (actor == "moderator" and role == "moderator"):
        assert response.status_code not in (401, 403), response.content[:300]
    else:
        assert response.status_code == (401 if actor == "anonymous" else 403), response.content[:300]


def _parameters_of(name: str) -> list[str]:
    (possibilities, _regex, _defaults, _converters), *_ = get_resolver().reverse_dict.getlist(name)
    return possibilities[0][1]


@pytest.mark.parametrize(
    ("name", "method"), sorted({(n, m) for n, m, _r in ROUTES if "case_id" in _parameters_of(n)})
)
def test_a_case_that_does_not_exist_is_404_for_a_moderator(name, method, client_for, moderator):
    path = reverse(name, kwargs={"case_id": 999999})
    body = VALID_BODIES.get(name, {}) if method == "POST" else {}

    response = client_for(moderator).generic(method, path, json.dumps(body), content_type="application/json")

    if method != "DELETE":  # releasing names no case to find: `case_not_claimed_by_you` would be wrong
        assert (response.status_code, response.json()["code"]) == (404, "case_not_found")


def test_the_admin_role_includes_moderation(client_for):
    admin = with_role(UserFactory(username="boss"), "admin")

    assert client_for(admin).get(reverse("moderation-cases")).status_code == 200
