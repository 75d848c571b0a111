"""Socket pushes of access requests wait for the commit: a change that rolls back tells nobody.

Today `access_request_create` and `access_request_decide` push at once, before their transaction commits."""

import pytest
from django.db import transaction

from cameos import services
from cameos.models import CameoAccessRequest
from tests.factories import CameoFactory
from tests.fixtures.realtime import SocketListener

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@pytest.fixture
def cameo(user):
    return CameoFactory(owner=user, permission="approved")


def test_a_request_that_rolls_back_tells_the_owner_nothing(user, other_user, cameo):
    owner_socket = SocketListener(user.pk)
    with pytest.raises(Rollback), transaction.atomic():
        services.access_request_create(cameo=cameo, requester=other_user)
        raise Rollback

    assert owner_socket.types(0.3) == []
    assert not CameoAccessRequest.objects.exists()


def test_a_request_tells_the_owner_once_it_commits(
    user, other_user, cameo, django_capture_on_commit_callbacks
):
    owner_socket = SocketListener(user.pk)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_create(cameo=cameo, requester=other_user)

    events = owner_socket.types()
    assert events[0] == (
        "cameo.access_requested",
        {"cameo_id": cameo.pk, "request_id": request.pk, "requester": "leo"},
    )
    # and the stored notification of it (feed.notifications)
    assert [(kind, data["notification"]["kind"]) for kind, data in events[1:]] == [
        ("notification", "access_requested")
    ]


def test_a_decision_that_rolls_back_tells_the_requester_nothing(user, other_user, cameo):
    request = CameoAccessRequest.objects.create(cameo=cameo, requester=other_user)
    requester_socket = SocketListener(other_user.pk)
    with pytest.raises(Rollback), transaction.atomic():
        services.access_request_decide(owner=user, request_id=request.pk, approve=True)
        raise Rollback

    assert requester_socket.types(0.3) == []
    request.refresh_from_db()
    assert request.status == "pending"
