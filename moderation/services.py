from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from accounts.models import User
from moderation.models import Case, CaseStatus, Flag
from moderation.roles import Role


@transaction.atomic
def flag_target(
    *,
    target: models.Model,
    source: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
    priority: int = 0,
) -> Flag:
    """Add a flag to the open case on `target`, opening one if there is none. Concurrent callers for the
    same target end up on the same case (the partial unique constraint decides the race)."""
    target_type = ContentType.objects.get_for_model(target)
    lookup = {"target_type": target_type, "target_id": target.pk}
    case = Case.objects.select_for_update().filter(**lookup).exclude(status=CaseStatus.RESOLVED).first()
    if case is None:
        try:
            with transaction.atomic():
                case = Case.objects.create(**lookup, priority=priority)
        except IntegrityError:
            case = Case.objects.select_for_update().exclude(status=CaseStatus.RESOLVED).get(**lookup)
    if priority > case.priority:
        case.priority = priority
        case.save(update_fields=["priority", "updated_at"])
    return Flag.objects.create(
        case=case, source=source, reason=reason, evidence=evidence or {}, priority=priority
    )


def role_grant(*, user: User, role: Role) -> None:
    """Put `user` in the role's group (created by migration 0002); granting twice changes nothing."""
    user.groups.add(Group.objects.get(name=Role(role).value))


def role_revoke(*, user: User, role: Role) -> None:
    user.groups.remove(Group.objects.get(name=Role(role).value))
