"""The console's forms: they only parse what a moderator typed. Every rule (which action fits which
target, that a strike needs a rule, who may decide) is the services' and answers as in the API."""

from django import forms

from moderation.audit import AuditAction
from moderation.models import (
    APPEAL_REPLY_MAX_CHARS,
    NOTE_TEXT_MAX_CHARS,
    AppealStatus,
    CaseKind,
    DecisionAction,
    FlagSource,
)
from moderation.targets import TARGET_KINDS

_ANY = [("", "any")]


class QueueFilterForm(forms.Form):
    """The queue's filters, the API's (`moderation.selectors.QUEUE_STATUSES`) under console labels."""

    status = forms.ChoiceField(
        choices=[
            ("unresolved", "unresolved"),
            ("open", "unclaimed"),
            ("mine", "claimed by me"),
            ("claimed", "claimed"),
            ("resolved", "resolved"),
        ],
        required=False,
    )
    reason = forms.CharField(max_length=60, required=False)
    source = forms.ChoiceField(choices=_ANY + FlagSource.choices, required=False)
    kind = forms.ChoiceField(choices=_ANY + CaseKind.choices, required=False)

    def filters(self) -> dict[str, str]:
        """The selector's arguments; unknown values reach the selector, which refuses them as the API does."""
        data = self.data
        return {
            "status": data.get("status") or "unresolved",
            "reason": (data.get("reason") or "")[:60],
            "source": data.get("source") or "",
            "kind": data.get("kind") or "",
        }


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=DecisionAction.choices)
    rule = forms.CharField(max_length=100, required=False, help_text="The rule broken, as the user sees it.")
    reason = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the user.",
    )
    strike = forms.BooleanField(required=False)
    suspend_days = forms.IntegerField(min_value=1, max_value=3650, required=False)


class AppealDecisionForm(forms.Form):
    """The API's appeal decision (`moderation.appeal_apis.CaseAppealDecideApi`): an outcome and a reply."""

    outcome = forms.ChoiceField(
        choices=[
            (AppealStatus.UPHELD, "Uphold: reverse the decision"),
            (AppealStatus.DENIED, "Deny: it stands"),
        ],
        widget=forms.RadioSelect,
    )
    reply = forms.CharField(
        max_length=APPEAL_REPLY_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown to the user, who never learns who decided.",
    )


class NoteForm(forms.Form):
    text = forms.CharField(max_length=NOTE_TEXT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))


class AuditFilterForm(forms.Form):
    actor = forms.CharField(max_length=150, required=False, help_text="A username, or automatic.")
    action = forms.ChoiceField(choices=_ANY + [(str(a), str(a)) for a in AuditAction], required=False)
    case = forms.CharField(max_length=20, required=False)
    target_type = forms.ChoiceField(
        choices=_ANY + [(name, name) for name in sorted(TARGET_KINDS)], required=False
    )
    target_id = forms.CharField(max_length=150, required=False)
    since = forms.CharField(max_length=10, required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.CharField(max_length=10, required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict[str, str]:
        data = self.data
        return {
            "actor": (data.get("actor") or "")[:150],
            "action": data.get("action") or "",
            "case_id": (data.get("case") or "")[:20],
            "target_type": (data.get("target_type") or "")[:30],
            "target_id": (data.get("target_id") or "")[:150],
            "since": (data.get("since") or "")[:40],
            "until": (data.get("until") or "")[:40],
        }
