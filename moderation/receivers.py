"""Moderation's reactions to the lower apps' hooks: a held cameo or a flagged video opens (or adds to) a
case through `flag_target`, inside the transaction that held it. Connected in `ModerationConfig.ready`."""

from typing import Any

from django.dispatch import receiver

from cameos.models import Cameo
from cameos.signals import cameo_held_for_review
from generation.models import Generation
from generation.signals import generation_flagged
from moderation.services import flag_target


@receiver(cameo_held_for_review, dispatch_uid="moderation.open_case_for_cameo")
def open_case_for_cameo(
    sender: Any,
    *,
    cameo: Cameo,
    source: str,
    reason: str,
    evidence: dict[str, Any],
    priority: int,
    **kwargs: Any,
) -> None:
    flag_target(target=cameo, source=source, reason=reason, evidence=evidence, priority=priority)


@receiver(generation_flagged, dispatch_uid="moderation.open_case_for_generation")
def open_case_for_generation(
    sender: Any,
    *,
    generation: Generation,
    source: str,
    reason: str,
    evidence: dict[str, Any],
    priority: int,
    **kwargs: Any,
) -> None:
    flag_target(target=generation, source=source, reason=reason, evidence=evidence, priority=priority)
