"""What the owner sees of their cameo's state: why it is held and what happens next (a moderator's decision,
told to the owner), challenge slots freed by refused uploads, and one state after deleting."""

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from cameos import services
from cameos.models import Cameo, LivenessChallenge
from moderation.models import Case
from moderation.services import flag_target
from tests.factories import CameoFactory, UserFactory
from tests.fixtures import recordings

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "cameos.services.push_to_user",
        lambda *, user_id, event_type, data: sent.append((user_id, event_type, data)),
    )
    return sent


class TestHeldForReview:
    def test_the_owner_sees_why_it_is_held_and_what_happens_next(self, client_for, user):
        cameo = CameoFactory(owner=user, status="needs_review", rejection_reason="likeness_match")

        body = client_for(user).get(f"/api/v1/cameos/{cameo.pk}/").json()

        assert (body["status"], body["status_reason"], body["rejection_reason"]) == (
            "needs_review",
            "likeness_match",
            "",
        )
        assert body["status_message"] == (
            "Held for review: it looks like another person's cameo. "
            "A moderator will look at it and decide; you will be told the outcome."
        )
        listed = client_for(user).get("/api/v1/cameos/").json()
        assert [c["status_reason"] for c in listed] == ["likeness_match"]

    def test_a_rejected_cameo_says_why_and_to_record_again(self, client_for, user):
        cameo = CameoFactory(owner=user, status="rejected", rejection_reason="digits_mismatch")

        body = client_for(user).get(f"/api/v1/cameos/{cameo.pk}/").json()

        assert (body["status_reason"], body["rejection_reason"]) == ("digits_mismatch", "digits_mismatch")
        assert body["status_message"] == (
            "Rejected: the digits we heard are not the ones asked. Ask for a new challenge and record again."
        )

    def test_the_schema_says_what_happens_to_a_held_cameo(self, api_client):
        schema = api_client.get("/api/v1/schema/?format=json").json()
        owner_view = schema["components"]["schemas"]["CameoOwner"]["properties"]

        assert "a moderator decides" in owner_view["status"]["description"]
        assert "cameo.reviewed" in owner_view["status"]["description"]
        assert {"status_reason", "status_message"} <= set(owner_view)

    def test_others_see_nothing_of_it(self, client_for, user, other_user, api_client):
        cameo = CameoFactory(owner=user, status="needs_review", rejection_reason="likeness_match")

        assert client_for(other_user).get(f"/api/v1/cameos/{cameo.pk}/").status_code == 404
        assert client_for(other_user).get(f"/api/v1/cameos/{cameo.pk}/card/").status_code == 404
        assert api_client.get(f"/api/v1/cameos/{cameo.pk}/").status_code == 401


class TestReviewDecision:
    @pytest.mark.parametrize(
        ("approve", "status", "reason"), [(True, "verified", ""), (False, "rejected", "review_rejected")]
    )
    def test_a_moderator_decides_and_the_owner_is_told(
        self, user, events, django_capture_on_commit_callbacks, approve, status, reason
    ):
        cameo = CameoFactory(owner=user, status="needs_review", rejection_reason="likeness_match")

        with django_capture_on_commit_callbacks(execute=True):
            services.cameo_review_decide(cameo_id=cameo.pk, approve=approve)

        cameo.refresh_from_db()
        assert (cameo.status, cameo.rejection_reason) == (status, reason)
        assert (cameo.verified_at is not None) is approve
        [(user_id, event_type, data)] = events
        assert (user_id, event_type, data["status"], data["status_reason"]) == (
            user.pk,
            "cameo.reviewed",
            status,
            reason,
        )
        assert data["status_message"] == ("" if approve else "Rejected after review by a moderator.")

    def test_only_a_held_cameo_can_be_decided(self, user, events):
        cameo = CameoFactory(owner=user, status="verified")

        with pytest.raises(Exception, match="not held for review") as caught:
            services.cameo_review_decide(cameo_id=cameo.pk, approve=False)

        assert caught.value.code == "cameo_not_in_review"
        assert Cameo.objects.get(pk=cameo.pk).status == "verified"
        assert events == []

    def test_the_admin_action_decides_the_cameo_and_resolves_its_case(
        self, user, events, django_capture_on_commit_callbacks
    ):
        cameo = CameoFactory(owner=user, status="needs_review", rejection_reason="likeness_match")
        case = flag_target(target=cameo, source="likeness_match", reason="possible_impersonation").case
        moderator = UserFactory(username="mod", is_staff=True, is_superuser=True)
        browser = Client()
        browser.force_login(moderator)

        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(
                "/admin/moderation/case/",
                {"action": "approve_held_cameos", "_selected_action": [case.pk]},
            )

        assert response.status_code == 302
        assert Cameo.objects.get(pk=cameo.pk).status == "verified"
        assert Case.objects.get(pk=case.pk).status == "resolved"
        assert case.target_type == ContentType.objects.get_for_model(Cameo)
        assert [e[1] for e in events] == ["cameo.reviewed"]


def _refused_upload(client, challenge_id: int) -> None:
    not_a_video = io.BytesIO(b"hello, I am not a video\n" * 20)
    not_a_video.name = "clip.mp4"
    response = client.post(
        "/api/v1/cameos/", {"challenge_id": challenge_id, "recording": not_a_video}, format="multipart"
    )
    assert response.json()["code"] == "media_unknown_format", response.json()


class TestChallengeSlots:
    def test_a_refused_upload_frees_its_challenge_slot(self, client_for, user):
        # given: five quick tries, each with fresh digits and a file that is refused
        client = client_for(user)
        for _ in range(5):
            challenge = client.post("/api/v1/cameos/challenges/", {})
            assert challenge.status_code == 201
            _refused_upload(client, challenge.json()["id"])

        # then: the user may still ask for digits (this used to be 429 too_many_challenges)
        assert client.post("/api/v1/cameos/challenges/", {}).status_code == 201

    def test_a_refused_challenge_stays_usable_for_a_corrected_recording(
        self, client_for, user, recording, monkeypatch
    ):
        monkeypatch.setattr("cameos.tasks.verify_cameo_task.apply_async", lambda args, kwargs: None)
        client = client_for(user)
        challenge_id = client.post("/api/v1/cameos/challenges/", {}).json()["id"]
        _refused_upload(client, challenge_id)
        assert LivenessChallenge.objects.get(pk=challenge_id).refused_at is not None

        with recording(recordings.GOOD).open("rb") as data:
            response = client.post(
                "/api/v1/cameos/", {"challenge_id": challenge_id, "recording": data}, format="multipart"
            )

        assert response.status_code == 202, response.json()

    def test_open_challenges_without_an_upload_are_still_capped(self, client_for, user):
        client = client_for(user)
        statuses = [client.post("/api/v1/cameos/challenges/", {}).status_code for _ in range(6)]

        assert statuses == [201] * 5 + [429]

    def test_a_challenge_consumed_by_a_rejected_cameo_does_not_count(self, client_for, user):
        client = client_for(user)
        for _ in range(5):
            challenge = LivenessChallenge.objects.get(
                pk=client.post("/api/v1/cameos/challenges/", {}).json()["id"]
            )
            challenge.used_at = challenge.created_at
            challenge.save(update_fields=["used_at"])
            CameoFactory(owner=user, status="rejected", rejection_reason="no_face", challenge=challenge)

        assert client.post("/api/v1/cameos/challenges/", {}).status_code == 201


class TestDeletedCameo:
    def _owner_view(self, client, cameo_id: int) -> tuple:
        return (
            [c["id"] for c in client.get("/api/v1/cameos/").json()],
            client.get(f"/api/v1/cameos/{cameo_id}/").status_code,
            client.get(f"/api/v1/cameos/{cameo_id}/media/").status_code,
            client.patch(f"/api/v1/cameos/{cameo_id}/", {"permission": "everyone"}).status_code,
        )

    def test_the_owner_sees_one_state_right_after_delete_and_after_erasure(
        self, client_for, user, django_capture_on_commit_callbacks
    ):
        cameo = CameoFactory(owner=user, status="verified")
        client = client_for(user)

        # when: deleted; the erasure behind it has not run yet
        with django_capture_on_commit_callbacks(execute=False) as erasure:
            assert client.delete(f"/api/v1/cameos/{cameo.pk}/").status_code == 202
        right_after = self._owner_view(client, cameo.pk)
        for callback in erasure:
            callback()  # the erasure task's enqueue: run eagerly by the test settings
        after_erasure = self._owner_view(client, cameo.pk)

        # then: gone from the list, not found, the same before and after the erasure
        assert right_after == after_erasure == ([], 404, 404, 404)
        assert not Cameo.objects.filter(pk=cameo.pk).exists()
        assert client.delete(f"/api/v1/cameos/{cameo.pk}/").status_code == 404

    def test_its_access_requests_leave_the_owners_list_with_it(self, client_for, user, other_user):
        cameo = CameoFactory(owner=user, status="verified", permission="approved")
        client_for(other_user).post(f"/api/v1/cameos/{cameo.pk}/access-requests/", {})
        assert len(client_for(user).get("/api/v1/cameos/access-requests/").json()["results"]) == 1

        client_for(user).delete(f"/api/v1/cameos/{cameo.pk}/")

        assert client_for(user).get("/api/v1/cameos/access-requests/").json()["results"] == []

    def test_a_new_recording_may_start_right_after_delete(self, client_for, user):
        cameo = CameoFactory(owner=user, status="verified")
        client = client_for(user)
        client.delete(f"/api/v1/cameos/{cameo.pk}/")

        challenge_id = client.post("/api/v1/cameos/challenges/", {}).json()["id"]
        started = client.post("/api/v1/cameos/uploads/", {"challenge_id": challenge_id, "size": 1000})

        assert started.status_code == 201, started.json()

    def test_other_users_and_anonymous_get_404_and_401(self, client_for, user, other_user, api_client):
        cameo = CameoFactory(owner=user, status="verified", permission="everyone")
        client_for(user).delete(f"/api/v1/cameos/{cameo.pk}/")

        assert client_for(other_user).get(f"/api/v1/cameos/{cameo.pk}/card/").status_code == 404
        assert client_for(other_user).delete(f"/api/v1/cameos/{cameo.pk}/").status_code == 404
        assert api_client.delete(f"/api/v1/cameos/{cameo.pk}/").status_code == 401
