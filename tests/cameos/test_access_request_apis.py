"""Asking for access, and the owner's answer, for requester / owner / stranger / blocked / anonymous."""

from datetime import date, timedelta

import pytest

from accounts.models import Follow
from accounts.services import block_create
from cameos.models import CameoAccessRequest
from cameos.selectors import cameo_get_for_generation
from core.exceptions import ApplicationError
from tests.factories import CameoFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cameo(user):
    return CameoFactory(owner=user, permission="approved")


def request_access(client_for, requester, cameo, message="please"):
    return client_for(requester).post(f"/api/v1/cameos/{cameo.pk}/access-requests/", {"message": message})


def test_request_then_approve_grants_use(client_for, user, other_user, cameo):
    created = request_access(client_for, other_user, cameo)
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    with pytest.raises(ApplicationError):
        cameo_get_for_generation(user=other_user, cameo_id=cameo.pk)

    incoming = client_for(user).get("/api/v1/cameos/access-requests/").json()["results"]
    approved = client_for(user).post(f"/api/v1/cameos/access-requests/{incoming[0]['id']}/approve/")

    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert cameo_get_for_generation(user=other_user, cameo_id=cameo.pk) == cameo


def test_owner_removing_an_approval_revokes_use_at_once(client_for, user, other_user, cameo):
    request_id = request_access(client_for, other_user, cameo).json()["id"]
    client_for(user).post(f"/api/v1/cameos/access-requests/{request_id}/approve/")

    assert client_for(user).delete(f"/api/v1/cameos/access-requests/{request_id}/").status_code == 204

    with pytest.raises(ApplicationError):
        cameo_get_for_generation(user=other_user, cameo_id=cameo.pk)


def test_denied_request_cannot_be_repeated(client_for, user, other_user, cameo):
    request_id = request_access(client_for, other_user, cameo).json()["id"]
    client_for(user).post(f"/api/v1/cameos/access-requests/{request_id}/deny/")

    again = request_access(client_for, other_user, cameo)

    assert again.status_code == 409
    assert again.json()["code"] == "access_request_denied"


def test_requester_sees_outgoing_requests_and_not_incoming(client_for, user, other_user, cameo):
    request_access(client_for, other_user, cameo)

    outgoing = (
        client_for(other_user).get("/api/v1/cameos/access-requests/?direction=outgoing").json()["results"]
    )
    incoming = client_for(other_user).get("/api/v1/cameos/access-requests/").json()["results"]

    assert [r["cameo_mention"] for r in outgoing] == ["@maya"]
    assert incoming == []


def test_requester_cannot_approve_their_own_request(client_for, other_user, cameo):
    request_id = request_access(client_for, other_user, cameo).json()["id"]

    response = client_for(other_user).post(f"/api/v1/cameos/access-requests/{request_id}/approve/")

    assert response.status_code == 404
    assert CameoAccessRequest.objects.get(pk=request_id).status == "pending"


def test_a_stranger_cannot_decide_or_remove(client_for, other_user, cameo):
    request_id = request_access(client_for, other_user, cameo).json()["id"]
    stranger = UserFactory(username="stranger")

    assert (
        client_for(stranger).post(f"/api/v1/cameos/access-requests/{request_id}/approve/").status_code == 404
    )
    assert client_for(stranger).delete(f"/api/v1/cameos/access-requests/{request_id}/").status_code == 404


def test_blocked_user_cannot_request(client_for, user, other_user, cameo):
    block_create(blocker=user, blocked=other_user)

    response = request_access(client_for, other_user, cameo)

    assert response.status_code == 404
    assert not CameoAccessRequest.objects.exists()


def test_only_me_cameo_accepts_no_requests(client_for, user, other_user):
    cameo = CameoFactory(owner=user, permission="only_me")

    response = request_access(client_for, other_user, cameo)

    assert response.status_code == 403
    assert response.json()["code"] == "cameo_not_accepting_requests"


def test_owner_cannot_request_their_own(client_for, user, cameo):
    assert request_access(client_for, user, cameo).json()["code"] == "cannot_request_own_cameo"


def test_anonymous_is_401(api_client, cameo):
    assert api_client.post(f"/api/v1/cameos/{cameo.pk}/access-requests/", {}).status_code == 401
    assert api_client.get("/api/v1/cameos/access-requests/").status_code == 401


def test_bad_direction_is_400(client_for, user):
    response = client_for(user).get("/api/v1/cameos/access-requests/?direction=sideways")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_direction"


class TestTeenProtection:
    """Free text reaches a minor only from mutual followers; asking without a message stays possible."""

    @pytest.fixture
    def teen_cameo(self, make_user):
        teen = make_user(username="teen", birth_date=date.today() - timedelta(days=15 * 365))
        return CameoFactory(owner=teen, permission="approved")

    def test_an_adult_stranger_cannot_write_to_a_minor(self, client_for, other_user, teen_cameo):
        response = request_access(client_for, other_user, teen_cameo, message="hey, add me")

        assert response.status_code == 403
        assert response.json()["code"] == "message_to_minor_not_allowed"
        assert not CameoAccessRequest.objects.exists()

    def test_a_stranger_may_still_ask_a_minor_without_a_message(self, client_for, other_user, teen_cameo):
        response = request_access(client_for, other_user, teen_cameo, message="")

        assert response.status_code == 201
        assert CameoAccessRequest.objects.get().message == ""

    def test_a_mutual_follower_may_write_to_a_minor(self, client_for, other_user, teen_cameo):
        Follow.objects.create(follower=other_user, followee=teen_cameo.owner)
        Follow.objects.create(follower=teen_cameo.owner, followee=other_user)

        response = request_access(client_for, other_user, teen_cameo, message="can I use it for our skit?")

        assert response.status_code == 201
        assert CameoAccessRequest.objects.get().message == "can I use it for our skit?"

    def test_a_one_way_follow_is_still_a_stranger(self, client_for, other_user, teen_cameo):
        Follow.objects.create(follower=other_user, followee=teen_cameo.owner)

        response = request_access(client_for, other_user, teen_cameo, message="hey")

        assert response.json()["code"] == "message_to_minor_not_allowed"
