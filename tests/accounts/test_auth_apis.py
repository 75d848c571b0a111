"""Sign-up, login, token rotation and revocation, password change, e-mail verification, web sessions."""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "Maya_R",
    "email": "maya@example.com",
    "password": "a-long-unusual-passphrase",
    "birth_date": "1995-04-12",
}


def login(client, username="maya", password=PASSWORD):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password})


def bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


class TestSignup:
    def test_creates_account_and_returns_tokens(self, api_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post("/api/v1/auth/signup/", SIGNUP)

        assert response.status_code == 201
        body = response.json()
        assert body["user"]["username"] == "Maya_R"
        assert body["user"]["email_verified"] is False
        assert body["user"]["is_minor"] is False
        assert "password" not in body["user"]
        assert bearer(body["access"]).get("/api/v1/users/me/").status_code == 200
        assert User.objects.get(username="Maya_R").password.startswith("argon2")

    def test_username_is_unique_case_insensitively(self, api_client, make_user):
        make_user(username="maya_r")

        response = api_client.post("/api/v1/auth/signup/", SIGNUP)

        assert response.status_code == 409
        assert response.json()["code"] == "username_taken"

    def test_email_is_unique_case_insensitively(self, api_client, make_user):
        make_user(username="someone", email="MAYA@example.com")

        response = api_client.post("/api/v1/auth/signup/", SIGNUP)

        assert response.status_code == 409
        assert response.json()["code"] == "email_taken"

    def test_weak_password_is_refused_with_field_detail(self, api_client):
        response = api_client.post("/api/v1/auth/signup/", {**SIGNUP, "password": "12345678"})

        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
        assert not User.objects.exists()

    def test_under_13_is_refused(self, api_client):
        response = api_client.post("/api/v1/auth/signup/", {**SIGNUP, "birth_date": "2020-01-01"})

        assert response.status_code == 403
        assert response.json()["code"] == "too_young"

    def test_teen_account_is_minor(self, api_client):
        from django.utils import timezone

        fifteen = timezone.localdate().replace(year=timezone.localdate().year - 15, day=1)
        response = api_client.post("/api/v1/auth/signup/", {**SIGNUP, "birth_date": str(fifteen)})

        assert response.status_code == 201
        assert response.json()["user"]["is_minor"] is True

    def test_username_with_mention_breaking_characters_is_refused(self, api_client):
        response = api_client.post("/api/v1/auth/signup/", {**SIGNUP, "username": "maya leo"})

        assert response.status_code == 400
        assert response.json()["extra"]["fields"]["username"][0]["code"] == "invalid_username"


class TestEmailVerification:
    def test_link_in_the_email_verifies_the_address(self, api_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post("/api/v1/auth/signup/", SIGNUP)
        assert len(mail.outbox) == 1
        token = re.search(r"token=(\S+)", mail.outbox[0].body).group(1)

        response = api_client.post("/api/v1/auth/email/verify/", {"token": token})

        assert response.status_code == 200
        assert response.json()["email_verified"] is True

    def test_tampered_token_is_refused(self, api_client):
        response = api_client.post("/api/v1/auth/email/verify/", {"token": "abc:def:ghi"})

        assert response.status_code == 400
        assert response.json()["code"] == "verification_invalid"

    def test_resend_requires_authentication(self, api_client):
        assert api_client.post("/api/v1/auth/email/resend/").status_code == 401

    def test_resend_sends_a_new_link(self, client_for, user, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(user).post("/api/v1/auth/email/resend/")

        assert response.status_code == 202
        assert mail.outbox[-1].to == [user.email]


class TestLoginAndRefresh:
    def test_login_is_case_insensitive_on_username(self, api_client, user):
        response = login(api_client, username="MAYA")

        assert response.status_code == 200
        assert {"access", "refresh"} <= set(response.json())

    def test_wrong_password_is_401(self, api_client, user):
        response = login(api_client, password="wrong")

        assert response.status_code == 401
        assert response.json()["code"] == "no_active_account"

    def test_refresh_rotates_and_a_used_refresh_token_is_refused(self, api_client, user):
        first = login(api_client).json()

        rotated = api_client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
        reused = api_client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})

        assert rotated.status_code == 200
        assert rotated.json()["refresh"] != first["refresh"]
        assert reused.status_code == 401
        assert reused.json()["code"] == "token_not_valid"
        again = api_client.post("/api/v1/auth/token/refresh/", {"refresh": rotated.json()["refresh"]})
        assert again.status_code == 200

    def test_inactive_user_cannot_log_in(self, api_client, user):
        user.is_active = False
        user.save()

        assert login(api_client).status_code == 401


class TestLogout:
    def test_logout_revokes_that_refresh_token(self, api_client, user):
        tokens = login(api_client).json()

        response = api_client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]})

        assert response.status_code == 204
        refused = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
        assert refused.status_code == 401

    def test_logout_everywhere_revokes_access_tokens_at_once(self, api_client, user):
        phone = login(api_client).json()
        laptop = login(api_client).json()

        api_client.post("/api/v1/auth/logout/", {"refresh": phone["refresh"], "everywhere": True})

        response = bearer(laptop["access"]).get("/api/v1/users/me/")
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"
        refresh = api_client.post("/api/v1/auth/token/refresh/", {"refresh": laptop["refresh"]})
        assert refresh.status_code == 401

    def test_logout_with_garbage_token_is_401(self, api_client):
        response = api_client.post("/api/v1/auth/logout/", {"refresh": "garbage"})

        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"


class TestPasswordChange:
    def test_revokes_every_old_token_and_returns_a_working_pair(self, api_client, user):
        old = login(api_client).json()
        client = bearer(old["access"])

        response = client.post(
            "/api/v1/auth/password/",
            {"old_password": PASSWORD, "new_password": "another-long-passphrase"},
            format="json",
        )

        assert response.status_code == 200
        new = response.json()
        assert client.get("/api/v1/users/me/").status_code == 401
        assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": old["refresh"]}).status_code == 401
        assert bearer(new["access"]).get("/api/v1/users/me/").status_code == 200
        assert login(api_client, password="another-long-passphrase").status_code == 200
        assert login(api_client).status_code == 401

    def test_wrong_old_password_changes_nothing(self, client_for, user):
        response = client_for(user).post(
            "/api/v1/auth/password/", {"old_password": "wrong", "new_password": "another-long-passphrase"}
        )

        assert response.status_code == 400
        assert response.json()["code"] == "wrong_password"
        user.refresh_from_db()
        assert user.check_password(PASSWORD)

    def test_anonymous_is_401(self, api_client):
        response = api_client.post("/api/v1/auth/password/", {"old_password": "a", "new_password": "b"})

        assert response.status_code == 401


class TestWebSession:
    def test_session_login_with_csrf_then_session_requests_need_csrf(self, user):
        client = APIClient(enforce_csrf_checks=True)
        csrf = client.get("/api/v1/auth/csrf/").json()["csrf_token"]

        response = client.post(
            "/api/v1/auth/session/login/", {"username": "maya", "password": PASSWORD}, HTTP_X_CSRFTOKEN=csrf
        )

        assert response.status_code == 200
        assert client.get("/api/v1/users/me/").json()["username"] == "maya"
        csrf = client.cookies["csrftoken"].value
        forged = client.patch("/api/v1/users/me/", {"bio": "x"})
        assert forged.status_code == 403
        ok = client.patch("/api/v1/users/me/", {"bio": "x"}, HTTP_X_CSRFTOKEN=csrf)
        assert ok.status_code == 200

    def test_session_logout_ends_the_session(self, user):
        client = APIClient()
        client.force_login(user)

        assert client.post("/api/v1/auth/session/logout/").status_code == 204
        assert client.get("/api/v1/users/me/").status_code == 401

    def test_logout_everywhere_ends_web_sessions(self, user, api_client):
        browser = APIClient()
        browser.force_login(user)
        phone = login(api_client).json()

        api_client.post("/api/v1/auth/logout/", {"refresh": phone["refresh"], "everywhere": True})

        assert browser.get("/api/v1/users/me/").status_code == 401

    def test_password_change_in_a_browser_keeps_that_session_and_ends_the_others(self, user):
        browser, other_browser = APIClient(), APIClient()
        browser.force_login(user)
        other_browser.force_login(user)

        response = browser.post(
            "/api/v1/auth/password/",
            {"old_password": PASSWORD, "new_password": "another-long-passphrase"},
            format="json",
        )

        assert response.status_code == 200
        assert browser.get("/api/v1/users/me/").status_code == 200
        assert other_browser.get("/api/v1/users/me/").status_code == 401

    def test_wrong_password_is_401(self, user, api_client):
        response = api_client.post("/api/v1/auth/session/login/", {"username": "maya", "password": "no"})

        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"


def test_auth_endpoints_are_throttled(api_client, user, monkeypatch):
    monkeypatch.setattr(
        ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "login": "3/min"}
    )

    statuses = [login(api_client, password="wrong").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    last = login(api_client, password="wrong")
    assert last.json()["code"] == "throttled"
    assert last.json()["extra"]["retry_after_seconds"] > 0
