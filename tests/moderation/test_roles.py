"""The moderation roles: groups made by a migration, granted by a command, checked by permission name."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _perms(user: User) -> set[str]:
    return {p for p in User.objects.get(pk=user.pk).get_all_permissions() if p.startswith("moderation.")}


def test_the_migration_creates_both_roles_with_their_permissions():
    groups = {g.name: {p.codename for p in g.permissions.all()} for g in Group.objects.all()}

    assert groups["moderator"] == {"moderate"}
    assert groups["admin"] == {"moderate", "administer"}


def test_the_command_grants_and_revokes_a_role(capsys):
    user = UserFactory(username="mia")

    call_command("moderation_role", "grant", "mia", "moderator")
    assert _perms(user) == {"moderation.moderate"}
    call_command("moderation_role", "grant", "MIA", "admin")
    assert _perms(user) == {"moderation.moderate", "moderation.administer"}
    call_command("moderation_role", "revoke", "mia", "admin")
    assert _perms(user) == {"moderation.moderate"}
    assert "roles now: moderator" in capsys.readouterr().out
    call_command("moderation_role", "revoke", "mia", "moderator")
    assert _perms(user) == set()


def test_the_command_refuses_an_unknown_user_or_role():
    with pytest.raises(CommandError, match="No user @ghost"):
        call_command("moderation_role", "grant", "ghost", "moderator")
    UserFactory(username="mia")
    with pytest.raises(CommandError):
        call_command("moderation_role", "grant", "mia", "superhero")


def test_staff_status_grants_no_moderation_permission():
    assert _perms(UserFactory(is_staff=True)) == set()
