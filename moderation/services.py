from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from core.realtime import push_to_user_on_commit
from feed.notifications.services import notify_moderation_decision, notify_report_outcome
from moderation.audit import AuditAction, audit_record
from moderation.effects import decision_apply
from moderation.errors import ModerationError
from moderation.models import (
    REPORT_SEVERITY,
    Case,
    CaseKind,
    CaseNote,
    CaseStatus,
    Decision,
    DecisionAction,
    Flag,
    FlagSource,
    Report,
    ReportOutcome,
    ReportStatus,
)
from moderation.queue import queue_key
from moderation.roles import Role
from moderation.targets import TARGET_KINDS, target_kind_for, target_public_id


@transaction.atomic
def flag_target(
    *,
    target: models.Model,
    source: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
    priority: int = 0,
) -> Flag:
    """Add a flag to the open review case on `target`, opening one if there is none, and move the case up
    the queue for its priority, (for a report) its report count, and the target's reach now. Concurrent callers for the same target end
    up on the same case (the partial unique constraint decides the race; the row lock orders the updates)."""
    target_type = ContentType.objects.get_for_model(target)
    kind = target_kind_for(target_type)
    lookup = {"target_type": target_type, "target_id": target.pk, "kind": CaseKind.REVIEW}
    case = Case.objects.select_for_update().filter(**lookup).exclude(status=CaseStatus.RESOLVED).first()
    if case is None:
        try:
            with transaction.atomic():
                case = Case.objects.create(**lookup, subject_id=kind.owner_id(target))
        except IntegrityError:
            case = Case.objects.select_for_update().exclude(status=CaseStatus.RESOLVED).get(**lookup)
    case.priority = max(case.priority, priority)
    if source == FlagSource.REPORT:
        case.report_count += 1
    case.reach = kind.reach(target.pk)
    case.queue_key = queue_key(
        opened_at=case.opened_at, priority=case.priority, report_count=case.report_count, reach=case.reach
    )
    case.save(update_fields=["priority", "report_count", "reach", "queue_key", "updated_at"])
    flag = Flag.objects.create(
        case=case, source=source, reason=reason, evidence=evidence or {}, priority=priority
    )
    if source != FlagSource.REPORT:  # an automatic decision (a held cameo, a blocked video): audited
        audit_record(
            actor=None,
            action=AuditAction.FLAG_RAISED,
            case=case,
            reason=reason,
            details={"source": source, "priority": priority, "flag_id": flag.pk},
        )
    return flag


@transaction.atomic
def role_grant(*, user: User, role: Role, granted_by: User | None = None) -> None:
    """Put `user` in the role's group (created by migration 0002); granting twice changes nothing.
    `granted_by`: None from the management command (the audit log shows no actor)."""
    user.groups.add(Group.objects.get(name=Role(role).value))
    details = {"user": user.username, "role": str(role)}
    audit_record(actor=granted_by, action=AuditAction.ROLE_GRANTED, details=details)


@transaction.atomic
def role_revoke(*, user: User, role: Role, revoked_by: User | None = None) -> None:
    user.groups.remove(Group.objects.get(name=Role(role).value))
    details = {"user": user.username, "role": str(role)}
    audit_record(actor=revoked_by, action=AuditAction.ROLE_REVOKED, details=details)


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


# How long a claim holds a case for its moderator unless renewed (claiming again) or released.
CLAIM_DURATION = timedelta(minutes=15)


def _case_for_update(case_id: int) -> Case:
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise ApplicationError(ModerationError.CASE_NOT_FOUND, f"No case {case_id}.", status=404)
    return case


def case_for_decision(*, moderator: User, case_id: int, kind: str) -> Case:
    """The case, row-locked, if `moderator` may decide it now: of `kind` (a review is decided with an
    action, an appeal with an outcome), unresolved, and under their own live claim (so two moderators never
    decide the same case)."""
    case = _case_for_update(case_id)
    if case.kind != kind:
        where = "its appeal-decision route" if case.kind == CaseKind.APPEAL else "its decision route"
        raise ApplicationError(
            ModerationError.DECISION_NOT_APPLICABLE, f"Case {case_id} is a {case.kind}: decide it at {where}."
        )
    if case.status == CaseStatus.RESOLVED:
        raise ApplicationError(
            ModerationError.CASE_RESOLVED, f"Case {case_id} is already decided.", status=409
        )
    now = timezone.now()
    if case.claimed_by_id != moderator.pk or not case.claim_expires_at or case.claim_expires_at <= now:
        raise ApplicationError(
            ModerationError.CASE_NOT_CLAIMED_BY_YOU, f"Claim case {case_id} before deciding it.", status=409
        )
    return case


def case_resolve(case: Case, *, now: datetime) -> None:
    """Mark a decided case resolved and free its claim (the caller holds its row lock)."""
    case.status, case.resolved_at, case.claimed_by, case.claim_expires_at = CaseStatus.RESOLVED, now, None, None
    case.save(update_fields=["status", "resolved_at", "claimed_by", "claim_expires_at", "updated_at"])


def case_is_claimed_by_other(case: Case, *, moderator: User, now: datetime) -> bool:
    return (
        case.status == CaseStatus.CLAIMED
        and case.claimed_by_id != moderator.pk
        and case.claim_expires_at is not None
        and case.claim_expires_at > now
    )


@transaction.atomic
def case_claim(*, moderator: User, case_id: int) -> Case:
    """Lock a case for `moderator` for `CLAIM_DURATION` (claiming it again renews the claim). Another
    moderator's live claim is refused with 409 `case_claimed`; an expired one is taken over. The row lock
    (`select_for_update`) serialises two moderators racing for the same case: exactly one wins."""
    case = _case_for_update(case_id)
    now = timezone.now()
    if case.status == CaseStatus.RESOLVED:
        raise ApplicationError(
            ModerationError.CASE_RESOLVED, f"Case {case_id} is already decided.", status=409
        )
    if case_is_claimed_by_other(case, moderator=moderator, now=now):
        raise ApplicationError(
            ModerationError.CASE_CLAIMED,
            f"Case {case_id} is claimed by another moderator until {case.claim_expires_at:%H:%M:%S} UTC.",
            status=409,
            extra={"claim_expires_at": case.claim_expires_at.isoformat() if case.claim_expires_at else None},
        )
    case.status, case.claimed_by, case.claim_expires_at = CaseStatus.CLAIMED, moderator, now + CLAIM_DURATION
    case.save(update_fields=["status", "claimed_by", "claim_expires_at", "updated_at"])
    audit_record(actor=moderator, action=AuditAction.CASE_CLAIMED, case=case)
    return case


@transaction.atomic
def case_release(*, moderator: User, case_id: int) -> Case:
    """Give a claimed case back to the queue; only its claimer may (an expired claim needs no release)."""
    case = _case_for_update(case_id)
    if case.status != CaseStatus.CLAIMED or case.claimed_by_id != moderator.pk:
        raise ApplicationError(
            ModerationError.CASE_NOT_CLAIMED_BY_YOU, f"You hold no claim on case {case_id}.", status=409
        )
    case.status, case.claimed_by, case.claim_expires_at = CaseStatus.OPEN, None, None
    case.save(update_fields=["status", "claimed_by", "claim_expires_at", "updated_at"])
    audit_record(actor=moderator, action=AuditAction.CASE_RELEASED, case=case)
    return case


# Actions that find no rule broken: reporters hear `dismissed`, nobody gets a strike.
_NO_RULE_BROKEN = {DecisionAction.DISMISS, DecisionAction.VERIFY_CAMEO}
# Which target kinds each action can act on (the account actions act on the case's subject).
_ACTION_TARGETS: dict[str, set[str]] = {
    DecisionAction.REMOVE_CONTENT: {"video"},
    DecisionAction.AGE_RESTRICT: {"video"},
    DecisionAction.VERIFY_CAMEO: {"cameo"},
    DecisionAction.REJECT_CAMEO: {"cameo"},
}


def _check_decision(*, case: Case, action: str, rule: str, strike: bool, suspend_days: int | None) -> str:
    kind = target_kind_for(case.target_type).name
    if action in _ACTION_TARGETS and kind not in _ACTION_TARGETS[action]:
        raise ApplicationError(
            ModerationError.DECISION_NOT_APPLICABLE, f"{action} does not apply to a case on a {kind}."
        )
    if (
        action in (DecisionAction.WARN, DecisionAction.SUSPEND, DecisionAction.BAN)
        and case.subject_id is None
    ):
        raise ApplicationError(ModerationError.DECISION_NOT_APPLICABLE, f"Case {case.pk} is about nobody.")
    if (strike or action not in _NO_RULE_BROKEN) and not rule:
        raise ApplicationError(ModerationError.RULE_REQUIRED, f"{action} needs the rule that was broken.")
    if strike and action in _NO_RULE_BROKEN:
        raise ApplicationError(ModerationError.DECISION_NOT_APPLICABLE, f"{action} cannot carry a strike.")
    if action == DecisionAction.SUSPEND and not suspend_days:
        raise ApplicationError(ModerationError.SUSPENSION_DAYS_REQUIRED, "A suspension needs suspend_days.")
    return kind


@transaction.atomic
def case_decide(
    *,
    moderator: User,
    case_id: int,
    action: str,
    rule: str = "",
    reason: str = "",
    strike: bool = False,
    suspend_days: int | None = None,
) -> Decision:
    """Decide a case `moderator` holds a live claim on (so two moderators never decide the same case):
    apply the effect everywhere at once, resolve the case and its reports, and after commit tell the
    affected user (action, rule, reason) and each reporter (the outcome), never naming the moderator."""
    case = case_for_decision(moderator=moderator, case_id=case_id, kind=CaseKind.REVIEW)
    now = timezone.now()
    kind = _check_decision(case=case, action=action, rule=rule, strike=strike, suspend_days=suspend_days)
    until = now + timedelta(days=suspend_days) if action == DecisionAction.SUSPEND and suspend_days else None
    decision_apply(case=case, action=action, rule=rule, until=until)
    decision = Decision.objects.create(
        case=case,
        moderator=moderator,
        action=action,
        rule=rule,
        reason=reason,
        strike=strike,
        suspended_until=until,
    )
    audit_record(
        actor=moderator,
        action=AuditAction.CASE_DECIDED,
        case=case,
        reason=reason,
        details={
            "decision_id": decision.pk,
            "action": action,
            "rule": rule,
            "strike": strike,
            "suspended_until": until.isoformat() if until else None,
        },
    )
    case_resolve(case, now=now)
    outcome = ReportOutcome.DISMISSED if action in _NO_RULE_BROKEN else ReportOutcome.ACTIONED
    reports = list(case.reports.filter(status=ReportStatus.OPEN))
    case.reports.filter(status=ReportStatus.OPEN).update(
        status=ReportStatus.RESOLVED, outcome=outcome, resolved_at=now
    )
    for report in reports:
        push_to_user_on_commit(
            user_id=report.reporter_id,
            event_type="moderation.report_resolved",
            data={"report_id": report.pk, "outcome": str(outcome)},
        )
        notify_report_outcome(recipient_id=report.reporter_id, report_id=report.pk, outcome=str(outcome))
    if action not in _NO_RULE_BROKEN and case.subject_id is not None:
        notice: dict[str, Any] = {
            "target_type": kind,
            "target_id": target_public_id(target_kind_for(case.target_type), case.target_id),
            "action": action,
            "rule": rule,
            "reason": reason,
            "strike": strike,
            "suspended_until": until.isoformat() if until else None,
        }
        push_to_user_on_commit(user_id=case.subject_id, event_type="moderation.decision", data=notice)
        # The stored notice (the user's notification list), with the same facts and no moderator.
        notify_moderation_decision(recipient_id=case.subject_id, decision_id=decision.pk, **notice)
    return decision


@transaction.atomic
def case_note_add(*, moderator: User, case_id: int, text: str) -> CaseNote:
    """A private note on a case (open or decided): moderators see it on the case, users never do."""
    case = _case_for_update(case_id)
    note = CaseNote.objects.create(case=case, author=moderator, text=text)
    audit_record(actor=moderator, action=AuditAction.NOTE_ADDED, case=case, details={"note_id": note.pk})
    return note
