"""The one consent decision, `cameo_get_for_generation`, over every permission level and relationship."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.services import block_create, follow_create
from cameos.models import AccessRequestStatus, CameoAccessRequest
from cameos.selectors import cameo_get_by_mention, cameo_get_for_generation
from core.exceptions import ApplicationError
from tests.factories import CameoFactory, UserFactory

pytestmark = pytest.mark.django_db

RELATIONS = ["owner", "approved", "mutual", "follower_only", "stranger", "blocked", "minor"]

# level -> the relations that may use the cameo
ALLOWED = {
    "only_me": {"owner"},
    "approved": {"owner", "approved"},
    "mutuals": {"owner", "approved", "mutual"},
    "everyone": {"owner", "approved", "mutual", "follower_only", "stranger"},
}


def teen_birth_date() -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - 15, day=1)


def user_in_relation(relation: str, cameo):
    owner = cameo.owner
    if relation == "owner":
        return owner
    if relation == "minor":
        return UserFactory(username="teen", birth_date=teen_birth_date())
    user = UserFactory(username=relation)
    if relation in ("approved", "blocked"):
        # The blocked user was approved before the block: blocks win over every grant.
        CameoAccessRequest.objects.create(cameo=cameo, requester=user, status=AccessRequestStatus.APPROVED)
    if relation == "mutual":
        follow_create(follower=user, followee=owner)
        follow_create(follower=owner, followee=user)
    if relation == "follower_only":
        follow_create(follower=user, followee=owner)
    if relation == "blocked":
        block_create(blocker=owner, blocked=user)
    return user


@pytest.mark.parametrize("level", list(ALLOWED))
@pytest.mark.parametrize("relation", RELATIONS)
def test_permission_matrix(level, relation):
    cameo = CameoFactory(owner=UserFactory(username="owner"), permission=level)
    user = user_in_relation(relation, cameo)

    if relation in ALLOWED[level]:
        assert cameo_get_for_generation(user=user, cameo_id=cameo.pk) == cameo
    else:
        with pytest.raises(ApplicationError) as refused:
            cameo_get_for_generation(user=user, cameo_id=cameo.pk)
        expected = "cameo_not_found" if relation == "blocked" else "cameo_permission_denied"
        assert refused.value.code == expected


def test_block_by_the_user_also_wins():
    cameo = CameoFactory(permission="everyone")
    user = UserFactory()
    block_create(blocker=user, blocked=cameo.owner)

    with pytest.raises(ApplicationError, match="No cameo"):
        cameo_get_for_generation(user=user, cameo_id=cameo.pk)


def test_a_minor_mutual_may_use_a_mutuals_cameo():
    cameo = CameoFactory(permission="mutuals")
    teen = UserFactory(birth_date=teen_birth_date())
    follow_create(follower=teen, followee=cameo.owner)
    follow_create(follower=cameo.owner, followee=teen)

    assert cameo_get_for_generation(user=teen, cameo_id=cameo.pk) == cameo


def test_an_adult_stranger_may_not_use_a_minors_cameo_even_if_everyone():
    cameo = CameoFactory(owner=UserFactory(birth_date=teen_birth_date()), permission="everyone")

    with pytest.raises(ApplicationError) as refused:
        cameo_get_for_generation(user=UserFactory(), cameo_id=cameo.pk)

    assert refused.value.code == "cameo_permission_denied"


@pytest.mark.parametrize("status", ["uploaded", "processing", "rejected", "needs_review"])
def test_an_unverified_cameo_is_usable_by_nobody(status):
    cameo = CameoFactory(permission="everyone", status=status)

    with pytest.raises(ApplicationError) as by_owner:
        cameo_get_for_generation(user=cameo.owner, cameo_id=cameo.pk)
    with pytest.raises(ApplicationError) as by_other:
        cameo_get_for_generation(user=UserFactory(), cameo_id=cameo.pk)

    assert by_owner.value.code == "cameo_not_verified"
    assert by_other.value.code == "cameo_not_found"


def test_a_deactivated_owners_cameo_is_gone():
    cameo = CameoFactory(permission="everyone")
    cameo.owner.is_active = False
    cameo.owner.save()

    with pytest.raises(ApplicationError, match="No cameo"):
        cameo_get_for_generation(user=UserFactory(), cameo_id=cameo.pk)


def test_a_change_of_permission_applies_to_the_very_next_use():
    cameo = CameoFactory(permission="everyone")
    user = UserFactory()
    assert cameo_get_for_generation(user=user, cameo_id=cameo.pk)

    cameo.permission = "only_me"
    cameo.save()

    with pytest.raises(ApplicationError):
        cameo_get_for_generation(user=user, cameo_id=cameo.pk)


def test_mentions_resolve_usernames_and_character_handles():
    person = CameoFactory(owner=UserFactory(username="maya"), permission="everyone")
    character = CameoFactory(owner=person.owner, kind="character", handle="Rex", permission="everyone")
    user = UserFactory()

    assert cameo_get_by_mention(user=user, mention="@MAYA") == person
    assert cameo_get_by_mention(user=user, mention="@rex") == character
    with pytest.raises(ApplicationError, match="No cameo @nobody"):
        cameo_get_by_mention(user=user, mention="@nobody")
