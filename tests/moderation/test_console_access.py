"""Every console page refuses everyone but moderators: the routes are found by walking the URL conf (every
route named `moderation-console-*`), so a new page cannot be forgotten. Anonymous visitors are sent to sign
in and back; signed-in non-moderators, staff without the role included, get 403; every POST form needs
the CSRF token."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from moderation.roles import ADMINISTER
from moderation.services import flag_target
from tests.factories import GenerationFactory, UserFactory, with_role

pytestmark = pytest.mark.django_db


def _console_routes(resolver: URLResolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _console_routes(pattern)
        elif isinstance(pattern, URLPattern) and (pattern.name or "").startswith("moderation-console-"):
            view = pattern.callback.view_class
            for method in sorted(m for m in view.http_method_names if m not in ("options", "head")):
                if hasattr(view, method):
                    role = "admin" if view.permission_required == ADMINISTER else "moderator"
                    yield pattern.name, method.upper(), role


ROUTES = sorted(set(_console_routes(get_resolver())))
POST_ROUTES = [(name, role) for name, method, role in ROUTES if method == "POST"]


def _takes_a_case(name: str) -> bool:
    (possibilities, *_rest), *_ = get_resolver().reverse_dict.getlist(name)
    return "case_id" in possibilities[0][1]


def _path(name: str, case_id: int) -> str:
    return reverse(name, kwargs={"case_id": case_id} if _takes_a_case(name) else {})


@pytest.fixture
def case():
    owner = UserFactory(username="owner", password=None)
    return flag_target(target=GenerationFactory(requester=owner), source="output_check", reason="x").case


def test_the_walk_finds_the_console_pages():
    assert ("moderation-console-queue", "GET", "moderator") in ROUTES
    assert ("moderation-console-case", "GET", "moderator") in ROUTES
    assert ("moderation-console-case-decision", "POST", "moderator") in ROUTES
    assert ("moderation-console-case-appeal-decision", "POST", "moderator") in ROUTES
    assert ("moderation-console-audit", "GET", "admin") in ROUTES
    # Forms are POST only: a link cannot claim or decide anything.
    assert ("moderation-console-case-claim", "GET", "moderator") not in ROUTES


@pytest.mark.parametrize(("name", "method", "role"), ROUTES)
@pytest.mark.parametrize("actor", ["plain", "staff", "anonymous", "moderator", "admin"])
def test_only_moderators_pass(name, method, role, actor, case):
    """Moderator pages: moderators and admins; admin pages (the audit log): admins only."""
    users = {
        "plain": case.subject,  # even the user the case is about
        "staff": UserFactory(username="staff", password=None, is_staff=True),
        "moderator": with_role(UserFactory(username="mod", password=None), "moderator"),
        "admin": with_role(UserFactory(username="boss", password=None), "admin"),
    }
    client = Client()
    if actor != "anonymous":
        client.force_login(users[actor])
    path = _path(name, case.pk)

    response = client.generic(method, path)

    if actor == "admin" or (actor == "moderator" and role == "moderator"):
        assert response.status_code != 403
        assert response.status_code != 302 or _is_an_action_redirect(response, case), response["Location"]
    elif actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"] == "/login/?" + urlencode({"next": path}, safe="/")
    else:
        assert response.status_code == 403
        assert response["Content-Type"].startswith("text/html")  # a page, as the rest of the console


def _is_an_action_redirect(response, case) -> bool:
    """A form that did its work sends the moderator back to the case page."""
    return response.status_code == 302 and response["Location"] == _path("moderation-console-case", case.pk)


@pytest.mark.parametrize(
    ("name", "method"), [(name, method) for name, method, _ in ROUTES if _takes_a_case(name)]
)
def test_a_case_that_does_not_exist_is_404_for_a_moderator(name, method):
    client = Client()
    client.force_login(with_role(UserFactory(username="mod", password=None), "moderator"))

    response = client.generic(method, _path(name, 999999), {"text": "a note", "action": "dismiss"})

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("name", "role"), POST_ROUTES)
def test_every_form_needs_the_csrf_token(name, role, case):
    moderator = with_role(UserFactory(username="boss", password=None), "admin")
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    path = _path(name, case.pk)

    refused = client.post(path, {"text": "a note", "action": "dismiss"})
    client.get(_path("moderation-console-case", case.pk))  # the page sets the CSRF cookie its forms carry
    token = client.cookies["csrftoken"].value
    accepted = client.post(path, {"text": "a note", "action": "dismiss", "csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert accepted.status_code != 403
