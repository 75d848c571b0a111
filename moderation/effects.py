"""What a decision does, and how an upheld appeal undoes it: each action's effect goes through the owning
app's own service, so it reaches every feed, share page, media URL, login and socket at once."""

from datetime import datetime
from typing import Any

from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from accounts.services import user_ban, user_suspend, user_unban
from cameos.services import cameo_review_decide, cameo_review_reverse
from feed.services import post_set_adults_only
from generation.services import generation_removed_media_purge, generation_restore, generation_take_down
from moderation.models import Case, Decision, DecisionAction


def decision_apply(*, case: Case, action: str, rule: str, until: datetime | None) -> None:
    """The decision's effect (the caller holds the case's row lock, inside its transaction)."""
    if action == DecisionAction.REMOVE_CONTENT:
        generation_take_down(generation_id=case.target_id, rule=rule)
    elif action == DecisionAction.AGE_RESTRICT:
        post_set_adults_only(post_id=case.target_id, adults_only=True)
    elif action in (DecisionAction.VERIFY_CAMEO, DecisionAction.REJECT_CAMEO):
        cameo_review_decide(cameo_id=case.target_id, approve=action == DecisionAction.VERIFY_CAMEO)
    elif action in (DecisionAction.SUSPEND, DecisionAction.BAN):
        subject = User.objects.select_for_update().get(pk=case.subject_id)
        if action == DecisionAction.SUSPEND:
            user_suspend(user=subject, until=until)
        else:
            user_ban(user=subject)


def _standing(decision: Decision, **lookup: Any) -> Any:
    """The other decisions of the same kind that still stand (not reversed), matching `lookup`."""
    return Decision.objects.filter(action=decision.action, reversed_at__isnull=True, **lookup).exclude(
        pk=decision.pk
    )


def decision_reverse(*, decision: Decision) -> dict[str, Any]:
    """Undo `decision`'s effects (its strike stops counting once the caller marks it reversed). An effect
    that another standing decision also imposes stays: a second age restriction of the same video, a later
    suspension (the account stays suspended until the latest standing one ends), another ban. Returns what
    was undone, for the audit log."""
    case = decision.case
    action = decision.action
    if action == DecisionAction.REMOVE_CONTENT:
        return {"video_restored": generation_restore(generation_id=case.target_id)}
    if action == DecisionAction.AGE_RESTRICT:
        if _standing(decision, case__target_type=case.target_type_id, case__target_id=case.target_id).exists():
            return {"age_restriction_lifted": False}
        post_set_adults_only(post_id=case.target_id, adults_only=False)
        return {"age_restriction_lifted": True}
    if action == DecisionAction.REJECT_CAMEO:
        return {"cameo_verified": cameo_review_reverse(cameo_id=case.target_id)}
    if action == DecisionAction.SUSPEND and case.subject_id is not None:
        subject = User.objects.select_for_update().get(pk=case.subject_id)
        latest = (
            _standing(decision, case__subject_id=subject.pk, suspended_until__gt=timezone.now())
            .aggregate(until=Max("suspended_until"))["until"]
        )
        user_suspend(user=subject, until=latest)
        return {"suspended_until": latest.isoformat() if latest else None}
    if action == DecisionAction.BAN and case.subject_id is not None:
        if _standing(decision, case__subject_id=case.subject_id).exists():
            return {"ban_lifted": False}
        user_unban(user=User.objects.select_for_update().get(pk=case.subject_id))
        return {"ban_lifted": True}
    return {}


def decision_effects_finalise(*, decision: Decision) -> None:
    """What happens when a decision can no longer be reversed (its appeal was denied, or its appeal window
    closed unappealed): a removed video's kept media is deleted."""
    if decision.action == DecisionAction.REMOVE_CONTENT:
        generation_removed_media_purge(generation_id=decision.case.target_id)
