"""The web's sign-in form (accounts/web.py) in a real browser: a session for the server-rendered pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_signing_in_opens_a_session_that_the_api_and_pages_accept(page, sign_in):
    UserFactory(username="maya")

    sign_in(page, "maya", PASSWORD, next_path="/api/v1/users/me/")

    page.wait_for_url("**/api/v1/users/me/")
    assert '"username":"maya"' in page.content().replace(" ", "")


def test_a_wrong_password_is_refused_with_a_message(page, sign_in):
    UserFactory(username="maya")

    sign_in(page, "maya", "not-the-password")

    assert "/login/" in page.url
    assert page.locator(".errorlist").is_visible()
    assert "sessionid" not in {cookie["name"] for cookie in page.context.cookies()}


def test_a_suspended_account_cannot_sign_in(page, sign_in):
    UserFactory(username="maya", suspended_until=timezone.now() + timedelta(days=3))

    sign_in(page, "maya", PASSWORD)

    assert page.locator(".errorlist").is_visible()
    assert "sessionid" not in {cookie["name"] for cookie in page.context.cookies()}


def test_signing_out_ends_the_session(page, sign_in):
    UserFactory(username="maya")
    sign_in(page, "maya", PASSWORD, next_path="/api/v1/users/me/")
    page.wait_for_url("**/api/v1/users/me/")

    page.goto("/login/?next=/api/v1/users/me/")  # signed in: the form sends one on
    page.wait_for_url("**/api/v1/users/me/")
    page.request.post("/logout/", headers={"X-CSRFToken": _csrf(page)}, max_redirects=0)

    response = page.request.get("/api/v1/users/me/")
    assert response.status == 401


def _csrf(page) -> str:
    return next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
