"""Irreversible effects of take-downs and deletes run only once their transaction commits.

Today a take-down inside a transaction that rolls back has already deleted the video."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from generation import services
from generation.models import Generation
from tests.factories import CameoFactory, GenerationFactory
from tests.fixtures.realtime import SocketListener

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@pytest.fixture
def cameo(user):
    return CameoFactory(owner=user, permission="everyone")


@pytest.fixture
def draft(other_user, cameo):
    generation = GenerationFactory(requester=other_user, cameos=[cameo])
    generation.video = default_storage.save("generations/x/video.mp4", ContentFile(b"mp4"))
    generation.poster = default_storage.save("generations/x/poster.jpg", ContentFile(b"jpg"))
    generation.save()
    return generation


def files_of(generation):
    return [generation.video.name, generation.poster.name]


def test_a_take_down_that_rolls_back_leaves_the_files_and_tells_nobody(user, other_user, draft):
    requester_socket = SocketListener(other_user.pk)
    with pytest.raises(Rollback), transaction.atomic():
        services.appearance_remove(owner=user, generation_id=draft.pk)
        raise Rollback

    assert all(default_storage.exists(name) for name in files_of(draft))
    assert Generation.objects.get(pk=draft.pk).removed_at is None
    assert requester_socket.types(0.3) == []


def test_a_take_down_deletes_the_files_once_it_commits(
    user, other_user, draft, django_capture_on_commit_callbacks
):
    requester_socket = SocketListener(other_user.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.appearance_remove(owner=user, generation_id=draft.pk)

    assert not any(default_storage.exists(name) for name in files_of(draft))
    assert requester_socket.types() == [
        ("generation.removed", {"generation_id": draft.pk, "reason": "removed_by_cameo_owner"})
    ]


def test_a_delete_that_rolls_back_leaves_the_files(other_user, draft):
    with pytest.raises(Rollback), transaction.atomic():
        services.generation_delete(requester=other_user, generation_id=draft.pk)
        raise Rollback

    assert all(default_storage.exists(name) for name in files_of(draft))
    assert Generation.objects.get(pk=draft.pk).deleted_at is None


def test_a_withdrawal_that_rolls_back_leaves_the_files_and_tells_nobody(user, other_user, cameo, draft):
    owner_socket, requester_socket = SocketListener(user.pk), SocketListener(other_user.pk)
    with pytest.raises(Rollback), transaction.atomic():
        cameo.permission = "only_me"
        cameo.save()
        assert services.generations_withdraw_consent(cameo_id=cameo.pk) == 1
        raise Rollback

    assert all(default_storage.exists(name) for name in files_of(draft))
    assert owner_socket.types(0.3) == [] and requester_socket.types(0.3) == []


def test_a_withdrawal_needs_a_cameo_or_an_owner():
    with pytest.raises(ValueError, match="cameo_id or an owner_id"):
        services.generations_withdraw_consent(requester_id=1)
