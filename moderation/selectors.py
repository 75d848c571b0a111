from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from core.parsing import parse_ascii_int
from moderation.audit import AuditAction
from moderation.errors import ModerationError
from moderation.models import (
    AuditEntry,
    Case,
    CaseKind,
    CaseNote,
    CaseStatus,
    Decision,
    DecisionAction,
    Flag,
    FlagSource,
    Report,
)
from moderation.targets import TARGET_KINDS, target_kind_for

# `mine`: the cases the asking moderator holds a live claim on.
QUEUE_STATUSES = ("unresolved", "open", "claimed", "mine", "resolved")


def reports_of_reporter(*, reporter: User) -> QuerySet[Report]:
    return Report.objects.filter(reporter=reporter).select_related("target_type")


def _live_claim() -> Q:
    return Q(status=CaseStatus.CLAIMED, claim_expires_at__gt=timezone.now())


def _one_of(name: str, value: str, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    if value and value not in allowed:
        raise ApplicationError(
            ModerationError.INVALID_QUEUE_FILTER, f"{name} is one of {', '.join(allowed)}; got {value!r}."
        )


def cases_for_queue(
    *,
    status: str = "unresolved",
    reason: str = "",
    source: str = "",
    kind: str = "",
    target_type: str = "",
    moderator: User | None = None,
) -> QuerySet[Case]:
    """The queue, reviews and appeals together, in `queue_key` order (severity, report count, reach and
    age; see `moderation.queue`). `status`: `unresolved` (the default: open and claimed), `open` (no live
    claim: what is free to take; an expired claim counts as open), `claimed` (a live claim), `mine` (a live
    claim of `moderator`), `resolved`.
    `reason` and `source`: cases with at least one flag of that reason or source (appeals have none).
    `kind`: `review` or `appeal`. `target_type`: video, cameo or account. The related rows a queue row
    shows are joined, none fetched per case."""
    _one_of("status", status, QUEUE_STATUSES)
    _one_of("source", source, FlagSource.values)
    _one_of("kind", kind, CaseKind.values)
    _one_of("target_type", target_type, sorted(TARGET_KINDS))
    cases = Case.objects.select_related(
        "target_type", "subject", "claimed_by", "appeal__decision"
    )
    if kind:
        cases = cases.filter(kind=kind)
    if target_type:
        cases = cases.filter(target_type=ContentType.objects.get_for_model(TARGET_KINDS[target_type].model))
    if status == "resolved":
        cases = cases.filter(status=CaseStatus.RESOLVED)
    else:
        cases = cases.exclude(status=CaseStatus.RESOLVED)
        if status == "open":
            cases = cases.exclude(_live_claim())
        elif status == "claimed":
            cases = cases.filter(_live_claim())
        elif status == "mine":
            cases = cases.filter(_live_claim(), claimed_by_id=moderator.pk if moderator else None)
    if reason:
        cases = cases.filter(Exists(Flag.objects.filter(case=OuterRef("pk"), reason=reason)))
    if source:
        cases = cases.filter(Exists(Flag.objects.filter(case=OuterRef("pk"), source=source)))
    return cases


def with_top_reason(cases: QuerySet[Case]) -> QuerySet[Case]:
    """`cases` with `top_reason`: the reason of the flag that gave each its priority (the first among
    equals), computed in the same query as the page."""
    top = Flag.objects.filter(case=OuterRef("pk")).order_by("-priority", "id").values("reason")[:1]
    return cases.annotate(top_reason=Subquery(top))


def _decisions_with_appeals() -> QuerySet[Decision]:
    return Decision.objects.select_related("moderator", "appeal__decided_by", "appeal__case").order_by("id")


def strike_count(*, user_id: int) -> int:
    """The strikes that count against a user: those recorded with a decision that was not reversed."""
    return Decision.objects.filter(case__subject_id=user_id, strike=True, reversed_at__isnull=True).count()


def decisions_about_user(*, user: User) -> QuerySet[Decision]:
    """The decisions that acted on `user` or their content (not dismissals or verifications, which acted on
    nobody), automatic ones included, with their appeal, for the user's own list."""
    return (
        Decision.objects.filter(case__subject=user)
        .exclude(action__in=[DecisionAction.DISMISS, DecisionAction.VERIFY_CAMEO])
        .select_related("case__target_type", "case__subject", "appeal")
    )


def case_get_for_moderator(*, case_id: int) -> Case:
    """One case with everything its page shows (reports, flags, decisions with their appeals, notes; for an
    appeal, the appeal and the decision it appeals); the caller is a moderator."""
    case = (
        Case.objects.select_related(
            "target_type",
            "subject",
            "claimed_by",
            "appeal__appellant",
            "appeal__decided_by",
            "appeal__decision__moderator",
        )
        .prefetch_related(
            Prefetch("reports", queryset=Report.objects.select_related("reporter").order_by("id")),
            Prefetch("flags", queryset=Flag.objects.order_by("id")),
            Prefetch("decisions", queryset=_decisions_with_appeals()),
            Prefetch("notes", queryset=CaseNote.objects.select_related("author").order_by("id")),
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise ApplicationError(ModerationError.CASE_NOT_FOUND, f"No case {case_id}.", status=404)
    return case


def case_target_for_review(*, case: Case) -> models.Model | None:
    """What the case is about, as its moderator reviews it (the video with its cameos and their owners,
    the cameo, or the account), in whatever state it is now; None once it is gone."""
    return target_kind_for(case.target_type).for_review(case.target_id)


def earlier_cases(*, case: Case) -> dict[str, list[Case]]:
    """The other cases on the same target and on the same user, newest first (at most 50 each)."""
    others = (
        Case.objects.exclude(pk=case.pk)
        .select_related("target_type", "subject", "claimed_by")
        .prefetch_related(Prefetch("decisions", queryset=_decisions_with_appeals()))
        .order_by("-id")
    )
    on_subject = others.filter(subject_id=case.subject_id)[:50] if case.subject_id else []
    return {
        "on_target": list(others.filter(target_type_id=case.target_type_id, target_id=case.target_id)[:50]),
        "on_subject": list(on_subject),
    }


def _audit_day(name: str, raw: str) -> datetime:
    """The first instant (UTC) of a day written YYYY-MM-DD."""
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ApplicationError(
            ModerationError.INVALID_QUEUE_FILTER, f"{name} is a day, YYYY-MM-DD; got {raw!r}."
        )
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_entries(
    *,
    actor: str = "",
    action: str = "",
    case_id: str = "",
    target_type: str = "",
    target_id: str = "",
    since: str = "",
    until: str = "",
) -> QuerySet[AuditEntry]:
    """The audit log, filtered by the actor's username (`automatic` for entries without one), the action,
    the case id, the target (its kind and the id clients name it by) and a range of days, `since` and
    `until` both included (UTC)."""
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
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=target_id)
    if since:
        entries = entries.filter(created_at__gte=_audit_day("since", since))
    if until:
        entries = entries.filter(created_at__lt=_audit_day("until", until) + timedelta(days=1))
    return entries
