from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from accounts.models import User
from core.exceptions import ApplicationError
from moderation.errors import ModerationError
from moderation.models import (
    REPORT_SEVERITY,
    Case,
    CaseStatus,
    Flag,
    FlagSource,
    Report,
    ReportStatus,
)
from moderation.roles import Role
from moderation.targets import TARGET_KINDS


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


@transaction.atomic
def report_create(*, reporter: User, target_type: str, target_id: str, reason: str, text: str = "") -> Report:
    """`reporter` reports a target they can see: the report joins the target's open case (opening one) with
    a `report` flag of the reason's severity. A second open report by the same reporter on the same target
    is refused with 409 `report_already_open` naming the first (the partial unique constraint decides a
    race between two concurrent submissions)."""
    kind = TARGET_KINDS[target_type]
    target = kind.resolve(reporter, target_id)
    if kind.owner_id(target) == reporter.pk:
        raise ApplicationError(
            ModerationError.CANNOT_REPORT_YOURSELF, "You cannot report yourself or your own content."
        )
    content_type = ContentType.objects.get_for_model(target)
    existing = Report.objects.filter(
        reporter=reporter, target_type=content_type, target_id=target.pk, status=ReportStatus.OPEN
    ).first()
    if existing is None:
        flag = flag_target(
            target=target, source=FlagSource.REPORT, reason=reason, priority=REPORT_SEVERITY[reason]
        )
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    reporter=reporter,
                    case=flag.case,
                    target_type=content_type,
                    target_id=target.pk,
                    reason=reason,
                    text=text,
                )
        except IntegrityError:
            existing = Report.objects.get(
                reporter=reporter, target_type=content_type, target_id=target.pk, status=ReportStatus.OPEN
            )
        else:
            flag.evidence = {"report_id": report.pk}
            flag.save(update_fields=["evidence"])
            return report
    raise ApplicationError(
        ModerationError.REPORT_ALREADY_OPEN,
        f"You already have an open report ({existing.pk}) on this {target_type}.",
        status=409,
        extra={"report_id": existing.pk},
    )
