"""Moderation opens cases from the lower apps' hooks (they cannot import it): a held cameo, a flagged video."""

import pytest

from cameos.models import Cameo
from cameos.signals import cameo_held_for_review
from generation.models import Generation
from generation.signals import generation_flagged
from moderation.models import Case
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


def test_a_held_cameo_opens_a_case(user):
    cameo = CameoFactory(owner=user, status="needs_review")

    cameo_held_for_review.send(
        sender=Cameo,
        cameo=cameo,
        source="likeness_match",
        reason="possible_impersonation",
        evidence={},
        priority=50,
    )

    case = Case.objects.get()
    assert (case.target, case.priority) == (cameo, 50)
    assert case.flags.get().reason == "possible_impersonation"


def test_a_flagged_video_opens_a_case_and_a_second_flag_joins_it(user):
    generation = GenerationFactory(requester=user, status="blocked")
    flag = {"source": "output_check", "reason": "policy_blocked_category", "evidence": {"findings": []}}

    generation_flagged.send(sender=Generation, generation=generation, priority=30, **flag)
    generation_flagged.send(sender=Generation, generation=generation, priority=60, **flag)

    case = Case.objects.get()
    assert (case.target, case.priority, case.flags.count()) == (generation, 60, 2)
