"""Grant or revoke a moderation role: `manage.py moderation_role grant|revoke <username> moderator|admin`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from moderation.roles import Role
from moderation.services import role_grant, role_revoke


class Command(BaseCommand):
    help = "Grant or revoke the moderator or admin role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["grant", "revoke"])
        parser.add_argument("username")
        parser.add_argument("role", choices=[role.value for role in Role])

    def handle(self, *args: Any, action: str, username: str, role: str, **options: Any) -> None:
        user = User.objects.filter(username__lower=username.lower()).first()
        if user is None:
            raise CommandError(f"No user @{username}.")
        if action == "grant":
            role_grant(user=user, role=Role(role))
        else:
            role_revoke(user=user, role=Role(role))
        roles = sorted(user.groups.filter(name__in=[r.value for r in Role]).values_list("name", flat=True))
        self.stdout.write(f"@{user.username}: {action} {role}; roles now: {', '.join(roles) or 'none'}")
