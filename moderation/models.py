"""The core of moderation: a case on a target (a cameo, a video, a comment, an account) with the flags and
evidence that opened it. A case is opened or added to through `moderation.services.flag_target`: by
moderation itself, and for the apps below it (which may not import it) by the receivers of their signals
(`moderation/receivers.py`)."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q


class CaseStatus(models.TextChoices):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class FlagSource(models.TextChoices):
    REPORT = "report"
    PROMPT_POLICY = "prompt_policy"
    OUTPUT_CHECK = "output_check"
    LIKENESS_MATCH = "likeness_match"


class Case(models.Model):
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    # Higher first in the review queue; the highest of its flags' priorities.
    priority = models.PositiveSmallIntegerField(default=0)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # At most one unresolved case per target: new flags join it.
            models.UniqueConstraint(
                fields=["target_type", "target_id"],
                condition=~Q(status="resolved"),
                name="moderation_one_open_case_per_target",
            )
        ]
        indexes = [models.Index(fields=["status", "-priority", "opened_at"])]
        # The roles (`moderation.roles`) are groups holding these; other apps check them by name, e.g.
        # `user.has_perm("moderation.moderate")`, since they may not import moderation.
        permissions = [
            ("moderate", "Can review, claim and decide moderation cases and play held media"),
            ("administer", "Can read and export the moderation audit log"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} on {self.target_type.model} {self.target_id} ({self.status})"


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
