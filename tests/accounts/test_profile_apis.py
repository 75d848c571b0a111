"""Profiles: your own (read, update) and other people's (read only, hidden by blocks)."""

import pytest

from accounts.services import block_create

pytestmark = pytest.mark.django_db


class TestMe:
    def test_owner_reads_private_fields(self, client_for, user):
        body = client_for(user).get("/api/v1/users/me/").json()

        assert body["username"] == "maya"
        assert body["email"] == "maya@example.com"
        assert body["birth_date"] == "1990-01-01"
        assert body["is_minor"] is False

    def test_anonymous_is_401(self, api_client):
        assert api_client.get("/api/v1/users/me/").status_code == 401
        assert api_client.patch("/api/v1/users/me/", {"bio": "x"}).status_code == 401

    def test_owner_updates_profile(self, client_for, user):
        response = client_for(user).patch("/api/v1/users/me/", {"display_name": "Maya R", "bio": "hi"})

        assert response.status_code == 200
        user.refresh_from_db()
        assert (user.display_name, user.bio) == ("Maya R", "hi")

    def test_update_is_validated_and_changes_nothing_on_error(self, client_for, user):
        response = client_for(user).patch("/api/v1/users/me/", {"bio": "x" * 301, "display_name": "ok"})

        assert response.status_code == 400
        assert "bio" in response.json()["extra"]["fields"]
        user.refresh_from_db()
        assert user.display_name == "Maya"

    def test_teen_cannot_edit_themselves_into_an_adult(self, client_for, make_user):
        from django.utils import timezone

        today = timezone.localdate()
        teen = make_user(username="teen", birth_date=today.replace(year=today.year - 15, day=1))

        response = client_for(teen).patch("/api/v1/users/me/", {"birth_date": "1990-01-01"})

        assert response.status_code == 403
        assert response.json()["code"] == "birth_date_locked"

    def test_username_cannot_be_changed_through_profile_update(self, client_for, user):
        client_for(user).patch("/api/v1/users/me/", {"username": "hijack"})

        user.refresh_from_db()
        assert user.username == "maya"


class TestOtherProfiles:
    def test_anyone_reads_a_public_profile_without_private_fields(self, api_client, user):
        body = api_client.get("/api/v1/users/MAYA/").json()

        assert body["username"] == "maya"
        assert "email" not in body and "birth_date" not in body

    def test_other_user_cannot_change_my_profile(self, client_for, user, other_user):
        response = client_for(other_user).patch("/api/v1/users/maya/", {"bio": "pwned"})

        assert response.status_code == 405
        user.refresh_from_db()
        assert user.bio == ""

    def test_a_blocked_user_cannot_see_me(self, client_for, user, other_user):
        block_create(blocker=user, blocked=other_user)

        response = client_for(other_user).get("/api/v1/users/maya/")

        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"

    def test_the_blocker_cannot_see_the_blocked_either(self, client_for, user, other_user):
        block_create(blocker=user, blocked=other_user)

        assert client_for(user).get("/api/v1/users/leo/").status_code == 404
