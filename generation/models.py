"""Generations: a user's prompt turned into a video, the cameos it uses, and its state.

The job row is the source of truth for its state (Celery keeps no results). Each cameo a generation uses
is recorded in `GenerationCameo`, which is what an owner's appearances list reads; consent is re-checked
through `cameos.selectors` at every step, never cached here."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class GenerationStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    BLOCKED = "blocked"  # an output check found content that may never be shown
    NEEDS_REVIEW = (
        "needs_review"  # an output check is unsure: held from the requester until a moderator decides
    )


class GenerationFailureReason(models.TextChoices):
    """Why a job did not end `succeeded` (blank when it did): clients switch on it like on an error code."""

    CANCELED_BY_REQUESTER = "canceled_by_requester"
    CANCELED = "canceled"  # stopped while running, without a reason of its own
    CONSENT_REVOKED = "consent_revoked"  # a cameo in it can no longer be used by the requester
    TIMED_OUT = "timed_out"
    WORKER_LOST = "worker_lost"  # its worker stopped beating more times than a job is re-run
    # Its worker found its lease taken over: the row is another worker's, so this reason is never stored
    # by the one that lost it; listed because the runner stops on it.
    LEASE_LOST = "lease_lost"
    DATABASE_UNAVAILABLE = "database_unavailable"  # the database stayed unreachable through every retry
    QUEUE_TIMEOUT = "queue_timeout"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    ENGINE_REJECTED_INPUT = "engine_rejected_input"
    REMOVED_BY_CAMEO_OWNER = "removed_by_cameo_owner"
    CAMEO_ERASED = "cameo_erased"
    # The output checks (generation.output_checks): `blocked` with a policy code or a likeness finding,
    # `needs_review` for an owner's restriction.
    POLICY_MINORS = "policy_minors"
    POLICY_SEXUAL_REAL_PERSON = "policy_sexual_real_person"
    POLICY_BLOCKED_CATEGORY = "policy_blocked_category"
    POLICY_REAL_PERSON = "policy_real_person"
    PROTECTED_LIKENESS = "protected_likeness"
    UNCONSENTED_LIKENESS = "unconsented_likeness"
    OWNER_RESTRICTION = "owner_restriction"


IN_FLIGHT = (GenerationStatus.QUEUED, GenerationStatus.RUNNING)
FINISHED = (
    GenerationStatus.SUCCEEDED,
    GenerationStatus.FAILED,
    GenerationStatus.CANCELED,
    GenerationStatus.BLOCKED,
    GenerationStatus.NEEDS_REVIEW,
)


class Generation(models.Model):
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations"
    )
    prompt = models.TextField()
    spec = models.JSONField()  # ml.scene.SceneSpec.to_dict()
    status = models.CharField(
        max_length=12, choices=GenerationStatus.choices, default=GenerationStatus.QUEUED
    )
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=30, blank=True)
    failure_reason = models.CharField(max_length=60, blank=True, choices=GenerationFailureReason.choices)
    idempotency_key = models.CharField(max_length=64, blank=True)
    remix_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="remixes"
    )
    video = models.FileField(upload_to="generations/", blank=True)
    poster = models.FileField(upload_to="generations/", blank=True)
    engine_metadata = models.JSONField(default=dict, blank=True)
    # Provenance: what the C2PA manifest in the file records, and the perceptual fingerprint that lets the
    # platform recognise a re-encoded copy (ml.provenance.fingerprint).
    provenance = models.JSONField(default=dict, blank=True)
    fingerprint = models.TextField(blank=True)
    # What the output checks heard (speech recognised in the generated audio) and decided.
    transcript = models.TextField(blank=True)
    output_check = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # render attempts started (retries included)
    # The outbox: when the render message was handed to the broker. None: not sent yet (the broker was down
    # at commit time, or the commit hook never ran); the sweep sends it (generation.runner).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The lease of a running job: which worker holds it (host:pid:token, new for every claim) and when it last
    # proved alive. A job whose heartbeat stopped is re-queued by the sweep; no other worker renders it meanwhile.
    worker_id = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)  # in the feed; None: a draft
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Taken down by the owner of a cameo it uses (or by erasure of that cameo): its media is deleted and it
    # can never be published; the row stays so the requester sees what happened.
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=40, blank=True)
    # Deleted by its requester: the media is gone and nobody but the owners of its cameos sees the row, which
    # stays as their record of the appearance (who, when, the prompt, that it was deleted).
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="generation_idempotency_key_unique",
            )
        ]
        indexes = [
            models.Index(fields=["requester", "status"]),
            models.Index(fields=["requester", "created_at"]),
            models.Index(fields=["status", "started_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(
                fields=["-published_at"], condition=Q(published_at__isnull=False), name="generation_published"
            ),
            # A person's posts newest first, each followed account's newest posts for a Following page
            # (feed.selectors.following_candidates, read from the index alone: the id is in it), and the
            # For You feed's recent posts of the people one follows (feed.ranking).
            models.Index(
                fields=["requester", "-published_at", "-id"],
                condition=Q(published_at__isnull=False),
                name="generation_published_by_author",
            ),
            # The author of a video by its id, from the index alone (PostgreSQL; the table's rows are
            # kilobytes): For You reads the authors of a viewer's latest likes, comments and views
            # (feed.ranking.selectors.viewer_signals), hundreds of rows scattered over the table.
            models.Index(fields=["id"], include=["requester"], name="generation_author_by_id"),
        ]

    def __str__(self) -> str:
        return f"generation {self.pk} by user {self.requester_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


class GenerationCameo(models.Model):
    """A cameo used by a generation: its owner's record of the appearance. Kept (with the cameo set to
    null) after the cameo is erased, so the generation still shows that it was taken down because of it,
    and kept when the requester deletes the video (a generation is only ever soft-deleted)."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="cameo_uses")
    cameo = models.ForeignKey("cameos.Cameo", null=True, on_delete=models.SET_NULL, related_name="uses")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_appearances"
    )
    handle = models.CharField(max_length=30)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["generation", "cameo"], name="generation_cameo_once")]

    def __str__(self) -> str:
        return f"@{self.handle} in generation {self.generation_id}"
