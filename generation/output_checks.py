"""Checks on a finished video before its requester sees it: what it says, and whose faces are in it.

* The speech recognised in the audio (and the lines synthesised) against the platform policy: a refusal
  blocks the video.
* The same text against each mentioned owner's restrictions: a hit holds it for review.
* Every face found in sampled frames against the likeness gallery: a protected public figure, or a verified
  cameo of someone who was not part of the request (closer to them than to anyone consented), blocks it.

A blocked or held video opens a moderation case: the runner sends `generation.signals.generation_flagged`,
which moderation receives and passes to `flag_target`, as the cameos app does for a suspicious upload.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from cameos.models import CameoKind, FaceEmbedding, ProtectedLikeness
from generation import policy
from generation.inference import OutputFacts, RenderResult
from generation.models import Generation, GenerationStatus


@dataclass
class Verdict:
    status: str  # succeeded, blocked or needs_review
    reason: str = ""  # the first finding's reason, "" when clean
    findings: list[dict[str, Any]] = field(default_factory=list)
    faces_checked: int = 0
    frames_checked: int = 0

    @property
    def flag(self) -> dict[str, Any] | None:
        """Arguments for `generation_flagged` (then `flag_target`) when the video must go to a moderator."""
        if self.status == GenerationStatus.SUCCEEDED:
            return None
        return {
            "source": "output_check",
            "reason": self.reason,
            "evidence": {"findings": self.findings},
            "priority": 60 if self.status == GenerationStatus.BLOCKED else 30,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text_findings(generation: Generation, result: RenderResult, facts: OutputFacts) -> tuple[list, list]:
    blocking, review = [], []
    uses = list(generation.cameo_uses.select_related("cameo"))
    people = any(use.cameo is not None and use.cameo.kind == CameoKind.PERSON for use in uses)
    names = list(ProtectedLikeness.objects.values_list("name", flat=True))
    for source, text in (("transcript", facts.transcript), ("dialogue", " ".join(result.spoken_lines))):
        refusal = policy.prompt_refusal(text, mentions_people=people, protected_names=names)
        if refusal is not None:
            blocking.append(
                {"check": "speech_policy", "source": source, "code": refusal.code, **refusal.extra}
            )
    for use in uses:
        cameo = use.cameo
        if cameo is None or cameo.owner_id == generation.requester_id:
            continue
        hit = policy.restriction_hit(
            facts.transcript, categories=cameo.restricted_categories, forbidden_words=cameo.forbidden_words
        )
        if hit is not None:
            review.append({"check": "owner_restriction", "cameo_id": cameo.pk, **hit})
    return blocking, review


def _face_findings(generation: Generation, facts: OutputFacts) -> list[dict[str, Any]]:
    from cameos import likeness

    consented_ids = set(generation.cameo_uses.exclude(cameo=None).values_list("cameo_id", flat=True))
    consented = [
        np.frombuffer(bytes(row.vector), dtype="<f4")
        for row in FaceEmbedding.objects.filter(cameo_id__in=consented_ids)
    ]
    threshold = settings.GENERATION_OUTPUT_FACE_MAX_DISTANCE
    findings = []
    for raw in facts.face_embeddings:
        vector = np.frombuffer(raw, dtype="<f4")
        nearest_consented = min((float(np.linalg.norm(vector - c)) for c in consented), default=np.inf)
        protected = likeness.find_protected_matches(
            vector=vector, max_distance=settings.CAMEO_PROTECTED_MAX_DISTANCE
        )
        if protected and protected[0].distance < nearest_consented:
            findings.append(
                {"check": "faces", "code": "protected_likeness", "distance": round(protected[0].distance, 4)}
            )
            continue
        # The requester's own cameo is theirs to use, mentioned or not; everyone else's must be consented.
        others = likeness.find_impersonation_matches(
            vector=vector, owner_id=generation.requester_id, max_distance=threshold
        )
        for match in others:
            if match.cameo_id not in consented_ids and match.distance < nearest_consented:
                findings.append(
                    {
                        "check": "faces",
                        "code": "unconsented_likeness",
                        "cameo_id": match.cameo_id,
                        "distance": round(match.distance, 4),
                    }
                )
                break
    return findings


def judge(*, generation: Generation, result: RenderResult, facts: OutputFacts) -> Verdict:
    blocking, review = _text_findings(generation, result, facts)
    blocking += _face_findings(generation, facts)
    verdict = Verdict(
        status=GenerationStatus.SUCCEEDED,
        faces_checked=len(facts.face_embeddings),
        frames_checked=facts.frames_checked,
        findings=blocking + review,
    )
    if blocking:
        verdict.status = GenerationStatus.BLOCKED
        verdict.reason = blocking[0]["code"] if "code" in blocking[0] else blocking[0]["check"]
    elif review:
        verdict.status = GenerationStatus.NEEDS_REVIEW
        verdict.reason = "owner_restriction"
    return verdict
