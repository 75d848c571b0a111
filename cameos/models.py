"""Cameos: a person's (or a character's) likeness, and who may use it.

Biometric data (raw recording, reference crop, transcript, face and voice embeddings) lives only on
`Cameo` and `FaceEmbedding` rows and in private storage, is never serialised to an API response, and is
destroyed by erasure (`cameos.services.cameo_erase`), which leaves an `ErasureRecord` without any of it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class CameoKind(models.TextChoices):
    PERSON = "person", "Person (liveness-verified face and voice)"
    CHARACTER = "character", "Character (pet, object, invented; no liveness)"


class CameoStatus(models.TextChoices):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    VERIFIED = "verified"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"


class CameoPermission(models.TextChoices):
    ONLY_ME = "only_me", "Only me"
    APPROVED = "approved", "People I approve"
    MUTUALS = "mutuals", "Mutual followers"
    EVERYONE = "everyone", "Everyone"


class RestrictionCategory(models.TextChoices):
    """Content an owner can rule out for their cameo; the generation policy enforces them."""

    POLITICAL = "political"
    VIOLENCE = "violence"
    ROMANCE = "romance"
    ALCOHOL_DRUGS = "alcohol_drugs"
    RELIGION = "religion"
    ADVERTISING = "advertising"
    HORROR = "horror"
    MOCKERY = "mockery"


class HeadTurn(models.TextChoices):
    NONE = "", "None"
    LEFT = "left"
    RIGHT = "right"


class LivenessChallenge(models.Model):
    """Digits to read aloud (and optionally a head turn) while recording: single use, short-lived, bound
    to the user who asked for it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_challenges"
    )
    digits = models.CharField(max_length=8)
    head_turn = models.CharField(max_length=5, choices=HeadTurn.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # When an upload made against it was last refused (unreadable, too short, ...): the challenge stays
    # usable for a corrected recording but no longer holds one of the user's open-challenge slots, so a
    # user who asks for fresh digits after each refusal is not locked out (`services.challenge_create`).
    refused_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"challenge {self.pk} for user {self.user_id}"


class Cameo(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameos")
    kind = models.CharField(max_length=10, choices=CameoKind.choices, default=CameoKind.PERSON)
    # Characters are mentioned by handle (`@rex`); a person cameo by its owner's username.
    handle = models.CharField(max_length=30, blank=True)
    display_name = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=12, choices=CameoStatus.choices, default=CameoStatus.UPLOADED)
    # Why the cameo is rejected, or held while `needs_review`: a stable code (cameos/reasons.py).
    rejection_reason = models.CharField(max_length=40, blank=True)
    permission = models.CharField(
        max_length=10, choices=CameoPermission.choices, default=CameoPermission.ONLY_ME
    )

    # Preferences. `guidance` is untrusted owner text describing the appearance; it is kept as data bound to
    # this cameo and never spliced into anyone's prompt (see cameos/preferences.py).
    guidance = models.CharField(max_length=300, blank=True)
    restricted_categories = models.JSONField(default=list, blank=True)
    forbidden_words = models.JSONField(default=list, blank=True)

    # Biometric and raw data: private storage only, never in an API response, removed by erasure.
    recording = models.FileField(upload_to="cameos/recordings/", blank=True)
    reference_image = models.FileField(upload_to="cameos/references/", blank=True)
    transcript = models.TextField(blank=True)
    voice_embedding = models.BinaryField(null=True, blank=True)
    verification_report = models.JSONField(default=dict, blank=True)

    challenge = models.OneToOneField(
        LivenessChallenge, null=True, blank=True, on_delete=models.SET_NULL, related_name="cameo"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The lease of a verification under way (core.leases): which worker holds it (host:pid:token, new for every
    # claim), when it last proved alive, and how many verifications were started. Empty when none runs.
    verification_worker_id = models.CharField(max_length=100, blank=True)
    verification_heartbeat_at = models.DateTimeField(null=True, blank=True)
    verification_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            # One live person cameo per account: a new recording replaces the old one.
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(kind="person") & ~Q(status="rejected"),
                name="cameos_one_person_cameo_per_owner",
            ),
            models.UniqueConstraint(
                Lower("handle"), condition=Q(kind="character"), name="cameos_character_handle_ci_unique"
            ),
        ]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"cameo {self.pk} ({self.kind}) of user {self.owner_id}"

    @property
    def is_usable(self) -> bool:
        return self.status == CameoStatus.VERIFIED


class CameoUpload(models.Model):
    """A resumable upload of a cameo recording: the client declares the size, sends the bytes in chunks at
    the offset the server reports (a dropped connection resumes where it stopped), then completes it. The
    bytes collect in a private spool folder and reach storage only once the whole file probes as valid."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_uploads"
    )
    challenge = models.ForeignKey(LivenessChallenge, on_delete=models.CASCADE, related_name="uploads")
    size = models.PositiveBigIntegerField()
    received = models.PositiveBigIntegerField(default=0)
    # With S3 storage the client may send the bytes straight to the bucket through a pre-signed POST;
    # they land under this key, outside the media tree, until the upload is completed and probed.
    incoming_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"upload {self.pk}: {self.received}/{self.size} bytes"


class FaceEmbedding(models.Model):
    """The identity vector of a verified person cameo, searched for impersonation (cameos/likeness)."""

    cameo = models.OneToOneField(Cameo, on_delete=models.CASCADE, related_name="face_embedding")
    vector = models.BinaryField()  # float32, little-endian, `dimensions` long
    dimensions = models.PositiveSmallIntegerField()
    model_name = models.CharField(max_length=40)

    def __str__(self) -> str:
        return f"face embedding of cameo {self.cameo_id}"


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class CameoAccessRequest(models.Model):
    """A user asking to use a cameo, and the owner's answer. An approved row is the grant; removing the
    approval deletes it."""

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="access_requests")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_access_requests"
    )
    status = models.CharField(
        max_length=10, choices=AccessRequestStatus.choices, default=AccessRequestStatus.PENDING
    )
    message = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cameo", "requester"], name="cameos_one_request_per_requester")
        ]

    def __str__(self) -> str:
        return f"user {self.requester_id} → cameo {self.cameo_id}: {self.status}"


class ProtectedLikeness(models.Model):
    """A public figure whose face may not be used as a cameo: uploads matching it are rejected. Staff
    manage the gallery; the vector is their reference embedding."""

    name = models.CharField(max_length=100)
    vector = models.BinaryField()
    dimensions = models.PositiveSmallIntegerField()
    model_name = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ErasureRecord(models.Model):
    """Proof that a cameo's biometric data was destroyed, holding none of it."""

    cameo_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    reason = models.CharField(max_length=40)
    files_deleted = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cameo_id"], name="cameos_one_erasure_per_cameo")]

    def __str__(self) -> str:
        return f"erasure of cameo {self.cameo_id}"
