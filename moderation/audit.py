"""Writing the moderation audit log (`AuditEntry`): one call per moderator action or automatic decision,
inside the transaction that does it, so that the entry and the action commit or roll back together."""

from enum import StrEnum
from typing import Any

from accounts.models import User
from moderation.models import AuditEntry, Case
from moderation.targets import target_kind_for, target_public_id


class AuditAction(StrEnum):
    FLAG_RAISED = "flag.raised"  # an automatic check flagged a target (actor: none)
    CASE_CLAIMED = "case.claimed"
    CASE_RELEASED = "case.released"
    CASE_DECIDED = "case.decided"
    NOTE_ADDED = "note.added"  # the note's text stays on the case; the log names it by id
    APPEAL_FILED = "appeal.filed"  # actor: the appealing user; case: the appeal's queue item
    APPEAL_DECIDED = "appeal.decided"  # reason: the reply to the user
    DECISION_REVERSED = "decision.reversed"  # an upheld appeal undid it; case: the decided case
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    case: Case | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    target_type = target_id = ""
    if case is not None:
        kind = target_kind_for(case.target_type)
        target_type, target_id = kind.name, target_public_id(kind, case.target_id)
    return AuditEntry.objects.create(
        actor_id=actor.pk if actor is not None else None,
        actor_username=actor.username if actor is not None else "",
        action=str(action),
        case_id=case.pk if case is not None else None,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        details=details or {},
    )
