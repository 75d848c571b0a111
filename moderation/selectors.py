from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from core.parsing import parse_ascii_int
from moderation.audit import AuditAction
from moderation.errors import ModerationError
from moderation.models import AuditEntry, Case, CaseNote, CaseStatus, Decision, Flag, FlagSource, Report

QUEUE_STATUSES = ("unresolved", "open", "claimed", "resolved")


def reports_of_reporter(*, reporter: User) -> QuerySet[Report]:
    return Report.objects.filter(reporter=reporter).select_related("target_type")


def _live_claim() -> Q:
    return Q(status=CaseStatus.CLAIMED, claim_expires_at__gt=timezone.now())


def cases_for_queue(*, status: str = "unresolved", reason: str = "", source: str = "") -> QuerySet[Case]:
    """The review queue, in `queue_key` order (severity, report count and age; see `moderation.queue`).
    `status`: `unresolved` (the default: open and claimed), `open` (no live claim: what is free to take;
    an expired claim counts as open), `claimed` (a live claim), `resolved`. `reason` and `source`: cases
    with at least one flag of that reason or source. Three related rows joined, none fetched per case."""
    if status not in QUEUE_STATUSES:
        raise ApplicationError(
            ModerationError.INVALID_QUEUE_FILTER,
            f"status is one of {', '.join(QUEUE_STATUSES)}; got {status!r}.",
        )
    if source and source not in FlagSource.values:
        raise ApplicationError(
            ModerationError.INVALID_QUEUE_FILTER,
            f"source is one of {', '.join(FlagSource.values)}; got {source!r}.",
        )
    cases = Case.objects.select_related("target_type", "subject", "claimed_by")
    if status == "resolved":
        cases = cases.filter(status=CaseStatus.RESOLVED)
    else:
        cases = cases.exclude(status=CaseStatus.RESOLVED)
        if status == "open":
            cases = cases.exclude(_live_claim())
        elif status == "claimed":
            cases = cases.filter(_live_claim())
    if reason:
        cases = cases.filter(Exists(Flag.objects.filter(case=OuterRef("pk"), reason=reason)))
    if source:
        cases = cases.filter(Exists(Flag.objects.filter(case=OuterRef("pk"), source=source)))
    return cases


def case_get_for_moderator(*, case_id: int) -> Case:
    """One case with everything its page shows (reports, flags); the caller is a moderator."""
    case = (
        Case.objects.select_related("target_type", "subject", "claimed_by")
        .prefetch_related(
            Prefetch("reports", queryset=Report.objects.select_related("reporter").order_by("id")),
            Prefetch("flags", queryset=Flag.objects.order_by("id")),
            Prefetch("decisions", queryset=Decision.objects.select_related("moderator").order_by("id")),
            Prefetch("notes", queryset=CaseNote.objects.select_related("author").order_by("id")),
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise ApplicationError(ModerationError.CASE_NOT_FOUND, f"No case {case_id}.", status=404)
    return case


def earlier_cases(*, case: Case) -> dict[str, list[Case]]:
    """The other cases on the same target and on the same user, newest first (at most 50 each)."""
    others = (
        Case.objects.exclude(pk=case.pk)
        .select_related("target_type", "subject", "claimed_by")
        .prefetch_related(Prefetch("decisions", queryset=Decision.objects.order_by("id")))
        .order_by("-id")
    )
    on_subject = others.filter(subject_id=case.subject_id)[:50] if case.subject_id else []
    return {
        "on_target": list(others.filter(target_type_id=case.target_type_id, target_id=case.target_id)[:50]),
        "on_subject": list(on_subject),
    }


def audit_entries(*, actor: str = "", action: str = "", case_id: str = "") -> QuerySet[AuditEntry]:
    """The audit log, filtered by the actor's username (`automatic` for entries without one), the action
    and the case id."""
    entries = AuditEntry.objects.all()
    if actor == "automatic":
        entries = entries.filter(actor_id__isnull=True)
    elif actor:
        entries = entries.filter(actor_username__iexact=actor)
    if action:
        if action not in AuditAction.__members__.values():
            raise ApplicationError(
                ModerationError.INVALID_QUEUE_FILTER,
                f"action is one of {', '.join(AuditAction)}; got {action!r}.",
            )
        entries = entries.filter(action=action)
    if case_id:
        parsed = parse_ascii_int(case_id)
        if parsed is None:
            raise ApplicationError(
                ModerationError.INVALID_QUEUE_FILTER, f"case is a number; got {case_id!r}."
            )
        entries = entries.filter(case_id=parsed)
    return entries
