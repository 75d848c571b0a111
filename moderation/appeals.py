"""Appeals (services): the affected user appeals a decision once; the appeal waits in the moderators'
queue as its own item (a case of kind `appeal`); a moderator holding its claim upholds it (the decision's
effects and strike are undone) or denies it, with a reply the user reads in `GET /me/decisions/`."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from core.realtime import push_to_user_on_commit
from feed.notifications.services import notify_appeal_decided
from generation.models import Generation
from generation.services import MODERATION_REMOVAL_PREFIX
from moderation.audit import AuditAction, audit_record
from moderation.effects import decision_effects_finalise, decision_reverse
from moderation.errors import ModerationError
from moderation.models import Appeal, AppealStatus, Case, CaseKind, Decision, DecisionAction
from moderation.queue import queue_key
from moderation.services import case_for_decision, case_resolve
from moderation.targets import target_kind_for

# Decisions that act on nobody: nothing to appeal.
NOT_APPEALABLE = {DecisionAction.DISMISS, DecisionAction.VERIFY_CAMEO}
# An appeal's priority in the queue, by what it asks to undo: someone locked out of their account first.
APPEAL_PRIORITY: dict[str, int] = {
    DecisionAction.BAN: 80,
    DecisionAction.SUSPEND: 70,
    DecisionAction.REJECT_CAMEO: 50,
    DecisionAction.REMOVE_CONTENT: 50,
    DecisionAction.AGE_RESTRICT: 40,
    DecisionAction.WARN: 30,
}


def appeal_window() -> timedelta:
    return timedelta(days=settings.MODERATION_APPEAL_WINDOW_DAYS)


@transaction.atomic
def appeal_file(*, appellant: User, decision_id: int, text: str) -> Appeal:
    """`appellant`, the user the decision's case is about, appeals it once, with `text`. Refused: 404
    `decision_not_found` for a decision not about them (or none); 409 `appeal_not_allowed` for a dismissal,
    a cameo verification or a decision already reversed, `appeal_already_filed` for a second appeal (the
    decision's row lock orders two racing ones; the one-to-one refuses the second regardless),
    `appeal_window_closed` past the window. Automatic decisions (no moderator) are appealed alike."""
    decision = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(pk=decision_id, case__subject=appellant)
        .first()
    )
    if decision is None:
        raise ApplicationError(
            ModerationError.DECISION_NOT_FOUND, f"No decision {decision_id} about you.", status=404
        )
    if decision.action in NOT_APPEALABLE or decision.reversed_at is not None:
        raise ApplicationError(
            ModerationError.APPEAL_NOT_ALLOWED,
            f"Decision {decision_id} ({decision.action}) cannot be appealed.",
            status=409,
        )
    existing = Appeal.objects.filter(decision=decision).first()
    if existing is not None:
        raise ApplicationError(
            ModerationError.APPEAL_ALREADY_FILED,
            f"Decision {decision_id} was already appealed (appeal {existing.pk}).",
            status=409,
            extra={"appeal_id": existing.pk},
        )
    closes_at = decision.created_at + appeal_window()
    if timezone.now() > closes_at:
        raise ApplicationError(
            ModerationError.APPEAL_WINDOW_CLOSED,
            f"Decision {decision_id} could be appealed until {closes_at:%Y-%m-%d %H:%M} UTC.",
            status=409,
            extra={"appeal_closed_at": closes_at.isoformat()},
        )
    reviewed = decision.case
    now = timezone.now()
    reach = target_kind_for(reviewed.target_type).reach(reviewed.target_id)
    priority = APPEAL_PRIORITY.get(decision.action, 0)
    queue_item = Case.objects.create(
        kind=CaseKind.APPEAL,
        target_type_id=reviewed.target_type_id,
        target_id=reviewed.target_id,
        subject=appellant,
        priority=priority,
        reach=reach,
        queue_key=queue_key(opened_at=now, priority=priority, report_count=0, reach=reach),
    )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(decision=decision, case=queue_item, appellant=appellant, text=text)
    except IntegrityError as exc:  # the row lock makes this unreachable but for a lock-free database
        raise ApplicationError(
            ModerationError.APPEAL_ALREADY_FILED, f"Decision {decision_id} was already appealed.", status=409
        ) from exc
    audit_record(
        actor=appellant,
        action=AuditAction.APPEAL_FILED,
        case=queue_item,
        details={"appeal_id": appeal.pk, "decision_id": decision.pk, "appealed_case_id": reviewed.pk},
    )
    return appeal


@transaction.atomic
def appeal_decide(*, moderator: User, case_id: int, outcome: str, reply: str) -> Appeal:
    """Decide the appeal waiting as case `case_id`, which `moderator` holds a live claim on: `upheld`
    reverses the decision (`moderation.effects.decision_reverse`: the video restored, the age restriction,
    suspension or ban lifted, the cameo verified) and its strike stops counting; `denied` leaves it standing
    (a removed video's kept media is deleted now). Either way the `reply` goes to the user, and the audit
    log records the outcome (and, when upheld, what was undone)."""
    case = case_for_decision(moderator=moderator, case_id=case_id, kind=CaseKind.APPEAL)
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("decision__case").get(case=case)
    decision = appeal.decision
    now = timezone.now()
    if outcome == AppealStatus.UPHELD:
        undone = decision_reverse(decision=decision)
        decision.reversed_at = now
        decision.save(update_fields=["reversed_at"])
        audit_record(
            actor=moderator,
            action=AuditAction.DECISION_REVERSED,
            case=decision.case,
            reason=reply,
            details={"decision_id": decision.pk, "appeal_id": appeal.pk, "strike_removed": decision.strike,
                     "undone": undone},
        )  # fmt: skip
    elif outcome == AppealStatus.DENIED:
        decision_effects_finalise(decision=decision)
    else:
        raise ValueError(f"appeal outcome is upheld or denied, not {outcome!r}")
    appeal.status, appeal.reply, appeal.decided_by, appeal.decided_at = outcome, reply, moderator, now
    appeal.save(update_fields=["status", "reply", "decided_by", "decided_at"])
    case_resolve(case, now=now)
    audit_record(
        actor=moderator,
        action=AuditAction.APPEAL_DECIDED,
        case=case,
        reason=reply,
        details={"appeal_id": appeal.pk, "decision_id": decision.pk, "outcome": outcome},
    )
    push_to_user_on_commit(
        user_id=appeal.appellant_id,
        event_type="moderation.appeal_decided",
        data={"appeal_id": appeal.pk, "decision_id": decision.pk, "outcome": outcome, "reply": reply},
    )
    notify_appeal_decided(
        recipient_id=appeal.appellant_id,
        appeal_id=appeal.pk,
        decision_id=decision.pk,
        outcome=str(outcome),
        reply=reply,
    )
    return appeal


def decisions_finalise_unappealed() -> int:
    """The hourly sweep: decisions whose appeal window closed with no appeal can no longer be reversed, so
    what was kept for a reversal goes (a removed video's media). Idempotent; returns how many it handled."""
    media_kept = Generation.objects.filter(
        pk=OuterRef("case__target_id"), removed_reason__startswith=MODERATION_REMOVAL_PREFIX
    ).exclude(video="")
    closed = (
        Decision.objects.filter(
            Exists(media_kept),
            action=DecisionAction.REMOVE_CONTENT,
            reversed_at__isnull=True,
            appeal__isnull=True,
            created_at__lte=timezone.now() - appeal_window(),
        )
        .select_related("case")
        .order_by("id")
    )
    handled = 0
    for decision in closed.iterator(chunk_size=500):
        with transaction.atomic():
            decision_effects_finalise(decision=decision)
        handled += 1
    return handled
