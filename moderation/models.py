"""The core of moderation: a case on a target (a cameo, a video, a comment, an account) with the flags and
evidence that opened it. A case is opened or added to through `moderation.services.flag_target`: by
moderation itself, and for the apps below it (which may not import it) by the receivers of their signals
(`moderation/receivers.py`)."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

REPORT_TEXT_MAX_CHARS = 2000
NOTE_TEXT_MAX_CHARS = 5000
APPEAL_TEXT_MAX_CHARS = 2000
APPEAL_REPLY_MAX_CHARS = 2000


class CaseStatus(models.TextChoices):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class FlagSource(models.TextChoices):
    REPORT = "report"
    PROMPT_POLICY = "prompt_policy"
    OUTPUT_CHECK = "output_check"
    LIKENESS_MATCH = "likeness_match"


class CaseKind(models.TextChoices):
    """What a queue item asks of a moderator: review a target (reports and flags), or an appeal of a
    decision (the `Appeal` linked to it). Both are claimed, noted and ordered alike."""

    REVIEW = "review"
    APPEAL = "appeal"


class Case(models.Model):
    kind = models.CharField(max_length=10, choices=CaseKind.choices, default=CaseKind.REVIEW)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    # The user the case is about (the target's owner, or the account itself); null if it has none.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The highest of its flags' priorities (a report's is its reason's severity).
    priority = models.PositiveSmallIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)
    # How many people saw the target (a video's distinct viewers) when a flag last joined the case.
    reach = models.PositiveIntegerField(default=0)
    # Queue order, lowest first: the opening time in seconds, moved earlier by severity, report count and
    # reach (`moderation.queue.queue_key`). Because every case ages at the same rate, "severity + reports + age"
    # ranks cases the same way at any moment, so the key is stored once and never recomputed over time.
    queue_key = models.BigIntegerField(default=0)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one unresolved review per target: new flags join it. (Appeals are one per decision.)
            models.UniqueConstraint(
                fields=["target_type", "target_id"],
                condition=~Q(status="resolved") & Q(kind="review"),
                name="moderation_one_open_review_per_target",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-priority", "opened_at"]),
            models.Index(fields=["status", "queue_key", "id"], name="moderation_case_queue"),
            # The default queue (every unresolved item), first page and deep cursor alike: an index range
            # scan in (queue_key, id) order from the cursor on, never a sort of all open cases.
            models.Index(
                fields=["queue_key", "id"],
                condition=~Q(status="resolved"),
                name="moderation_queue_unresolved",
            ),
            # A case page's earlier cases on the same target (resolved ones included).
            models.Index(fields=["target_type", "target_id"], name="moderation_case_target"),
        ]
        # The roles (`moderation.roles`) are groups holding these; other apps check them by name, e.g.
        # `user.has_perm("moderation.moderate")`, since they may not import moderation.
        permissions = [
            ("moderate", "Can review, claim and decide moderation cases and play held media"),
            ("administer", "Can read and export the moderation audit log"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} on {self.target_type.model} {self.target_id} ({self.status})"

    def claim_is_live(self, now: datetime) -> bool:
        """Whether a moderator holds it now: an expired claim reads as open and can be taken."""
        return (
            self.status == CaseStatus.CLAIMED
            and self.claim_expires_at is not None
            and self.claim_expires_at > now
        )


class Flag(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="flags")
    source = models.CharField(max_length=20, choices=FlagSource.choices)
    reason = models.CharField(max_length=60)
    # What a moderator needs to judge: scores, ids of the other parties; never raw biometric vectors.
    evidence = models.JSONField(default=dict, blank=True)
    priority = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.source}:{self.reason} on case {self.case_id}"


class ReportReason(models.TextChoices):
    NON_CONSENSUAL_LIKENESS = "non_consensual_likeness", "Likeness used without consent"
    IMPERSONATION = "impersonation", "Impersonation"
    HARASSMENT = "harassment", "Harassment"
    SEXUAL_CONTENT = "sexual_content", "Sexual content"
    MINOR_SAFETY = "minor_safety", "Minor safety"
    VIOLENCE = "violence", "Violence"
    SPAM = "spam", "Spam"
    OTHER = "other", "Other"


# How far up the queue a report of each reason puts its case (a case's priority is its highest flag's):
# minor safety and non-consensual likeness first.
REPORT_SEVERITY: dict[str, int] = {
    "minor_safety": 100,
    "non_consensual_likeness": 90,
    "sexual_content": 70,
    "violence": 60,
    "impersonation": 50,
    "harassment": 40,
    "other": 20,
    "spam": 10,
}


class ReportStatus(models.TextChoices):
    OPEN = "open"
    RESOLVED = "resolved"


class ReportOutcome(models.TextChoices):
    """What the reporter is told once the case is decided (never who decided it)."""

    DISMISSED = "dismissed"  # no rule was found broken
    ACTIONED = "actioned"  # the content or the account was acted on


class Report(models.Model):
    """A user's report of a target; it joins the target's open case (with a `report` flag that carries its
    severity), and the reporter follows it until the case is decided."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reports")
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    reason = models.CharField(max_length=30, choices=ReportReason.choices)
    text = models.TextField(max_length=REPORT_TEXT_MAX_CHARS, blank=True)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    outcome = models.CharField(max_length=10, choices=ReportOutcome.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open report per reporter and target: a second one is refused (409), not stacked.
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=Q(status="open"),
                name="moderation_one_open_report_per_reporter_and_target",
            )
        ]
        indexes = [models.Index(fields=["reporter", "-id"])]

    def __str__(self) -> str:
        return f"report {self.pk} by {self.reporter_id}: {self.reason} on case {self.case_id}"


class DecisionAction(models.TextChoices):
    DISMISS = "dismiss"  # no rule broken: the case closes, reporters are told so
    REMOVE_CONTENT = "remove_content"  # a video taken down everywhere
    AGE_RESTRICT = "age_restrict"  # a video shown to adults only (never to minors, unknown ages, anonymous)
    WARN = "warn"
    SUSPEND = "suspend"  # for `suspend_days`: no sign-in, tokens and sockets end
    BAN = "ban"  # the account is deactivated
    VERIFY_CAMEO = "verify_cameo"  # a cameo held for review becomes usable
    REJECT_CAMEO = "reject_cameo"  # a cameo held for review is rejected; the owner sees why


class Decision(models.Model):
    """What a moderator (or, with no moderator, an automatic rule) decided on a case. The affected user is
    told the action, the rule and the reason, never who decided."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=DecisionAction.choices)
    rule = models.CharField(max_length=100, blank=True, help_text="The rule broken, as shown to the user.")
    reason = models.TextField(max_length=2000, blank=True, help_text="Why, as shown to the user.")
    # A strike counts against the affected user (`Case.subject`) for this rule.
    strike = models.BooleanField(default=False)
    suspended_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when an upheld appeal undid the decision's effects; its strike no longer counts from then on.
    reversed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.action} on case {self.case_id}"


class AppealStatus(models.TextChoices):
    PENDING = "pending"
    UPHELD = "upheld"  # the decision was reversed: its effects and its strike undone
    DENIED = "denied"  # the decision stands


class Appeal(models.Model):
    """The affected user's appeal of a decision, once (the one-to-one refuses a second). It waits in the
    moderators' queue as its own item, `case`: a case of kind `appeal` on the same target and subject,
    claimed, noted (privately) and ordered like any other. Deciding it carries a `reply` to the user; the
    user never learns who decided it."""

    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="appeal")
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="appeal")
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=APPEAL_TEXT_MAX_CHARS)
    status = models.CharField(max_length=10, choices=AppealStatus.choices, default=AppealStatus.PENDING)
    reply = models.TextField(max_length=APPEAL_REPLY_MAX_CHARS, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"appeal {self.pk} of decision {self.decision_id} ({self.status})"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("The moderation audit log cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("The moderation audit log cannot be deleted from.")


class AuditLogIsAppendOnly(Exception):
    pass


class AuditEntry(models.Model):
    """Who did what, when and why: every moderator action and every automatic decision. Append-only: the
    model and its queryset refuse update and delete, and on PostgreSQL a trigger refuses them too
    (migration 0006). No foreign keys, so that deleting a user or a case never has to touch a row here:
    the actor's username and the target are copied in."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="Null: an automatic action.")
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    target_type = models.CharField(max_length=30, blank=True)
    target_id = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["actor_id", "-id"]), models.Index(fields=["action", "-id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username or 'automatic'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly(f"Audit entry {self.pk} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly(f"Audit entry {self.pk} cannot be deleted.")


class CaseNote(models.Model):
    """A moderator's private note on a case (an appeal's included: it is a case of kind `appeal`): shown to
    moderators on the case, never to users."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(max_length=NOTE_TEXT_MAX_CHARS)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"
