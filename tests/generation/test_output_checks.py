"""Output checks on real face embeddings (package photos through dlib) and on what the audio says."""

from pathlib import Path

import numpy as np
import pytest

from cameos.models import FaceEmbedding, ProtectedLikeness
from generation import output_checks
from generation.inference import OutputFacts, RenderResult
from moderation.models import Case
from tests.factories import CameoFactory, GenerationFactory
from tests.fixtures import recordings

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def embeddings() -> dict[str, bytes]:
    """dlib descriptors of real faces: the astronaut, and two of insightface's sample people."""
    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer

    analyzer, embedder = FaceAnalyzer(), DlibFaceEmbedder()
    found = {}
    for name in ("astronaut", "t1_0", "t1_3"):
        image = recordings.photo(name)
        faces = analyzer.detect(image, upsample=1)
        found[name] = np.asarray(embedder.embed(image, faces[:1])[0], dtype="<f4").tobytes()
    return found


def verified_cameo(owner, vector: bytes, **fields):
    cameo = CameoFactory(owner=owner, **fields)
    FaceEmbedding.objects.create(cameo=cameo, vector=vector, dimensions=128, model_name="dlib_resnet_v1")
    return cameo


def result(lines=()) -> RenderResult:
    return RenderResult(
        mp4_path=Path("unused.mp4"),
        poster_path=Path("unused.jpg"),
        engine_metadata={},
        manifest={},
        fingerprint="",
        spoken_lines=tuple(lines),
        duration=4.0,
    )


def test_a_clean_video_with_the_consented_face_passes(make_user, embeddings):
    maya = make_user(username="maya")
    cameo = verified_cameo(maya, embeddings["astronaut"], permission="everyone")
    verified_cameo(make_user(username="ivy"), embeddings["t1_0"])
    generation = GenerationFactory(requester=make_user(username="leo"), cameos=[cameo], status="running")
    facts = OutputFacts(transcript="Let's go!", face_embeddings=[embeddings["astronaut"]], frames_checked=8)
    verdict = output_checks.judge(generation=generation, result=result(["Let's go!"]), facts=facts)
    assert verdict.status == "succeeded"
    assert verdict.flag is None
    assert verdict.faces_checked == 1


def test_a_face_of_someone_who_did_not_consent_blocks_the_video(make_user, embeddings):
    maya = make_user(username="maya")
    cameo = verified_cameo(maya, embeddings["astronaut"], permission="everyone")
    ivy_cameo = verified_cameo(make_user(username="ivy"), embeddings["t1_0"])
    generation = GenerationFactory(requester=make_user(username="leo"), cameos=[cameo], status="running")
    facts = OutputFacts(transcript="", face_embeddings=[embeddings["t1_0"]], frames_checked=8)
    verdict = output_checks.judge(generation=generation, result=result(), facts=facts)
    assert verdict.status == "blocked"
    assert verdict.reason == "unconsented_likeness"
    assert verdict.findings[0]["cameo_id"] == ivy_cameo.pk


def test_the_requesters_own_face_is_theirs_to_use(make_user, embeddings):
    leo = make_user(username="leo")
    verified_cameo(leo, embeddings["t1_3"])
    cameo = verified_cameo(make_user(username="maya"), embeddings["astronaut"], permission="everyone")
    generation = GenerationFactory(requester=leo, cameos=[cameo], status="running")
    facts = OutputFacts(transcript="", face_embeddings=[embeddings["t1_3"]], frames_checked=8)
    assert output_checks.judge(generation=generation, result=result(), facts=facts).status == "succeeded"


def test_a_protected_public_figure_blocks_the_video(make_user, embeddings):
    ProtectedLikeness.objects.create(
        name="A Public Figure", vector=embeddings["t1_3"], dimensions=128, model_name="dlib_resnet_v1"
    )
    cameo = verified_cameo(make_user(username="maya"), embeddings["astronaut"], permission="everyone")
    generation = GenerationFactory(requester=make_user(username="leo"), cameos=[cameo], status="running")
    facts = OutputFacts(transcript="", face_embeddings=[embeddings["t1_3"]], frames_checked=8)
    verdict = output_checks.judge(generation=generation, result=result(), facts=facts)
    assert (verdict.status, verdict.reason) == ("blocked", "protected_likeness")


@pytest.mark.parametrize(
    ("transcript", "code"),
    [
        ("now take your clothes off", "policy_sexual_real_person"),
        ("he is only a 9 year old", "policy_minors"),
    ],
)
def test_what_the_audio_says_is_checked_against_the_policy(make_user, embeddings, transcript, code):
    cameo = verified_cameo(make_user(username="maya"), embeddings["astronaut"], permission="everyone")
    generation = GenerationFactory(requester=make_user(username="leo"), cameos=[cameo], status="running")
    verdict = output_checks.judge(
        generation=generation, result=result(), facts=OutputFacts(transcript=transcript, frames_checked=1)
    )
    assert verdict.status == "blocked"
    assert verdict.reason == code
    assert verdict.flag["source"] == "output_check"


def test_an_owner_restriction_heard_in_the_audio_holds_it_for_review(make_user, embeddings):
    cameo = verified_cameo(
        make_user(username="maya"),
        embeddings["astronaut"],
        permission="everyone",
        forbidden_words=["pickles"],
    )
    generation = GenerationFactory(requester=make_user(username="leo"), cameos=[cameo], status="running")
    verdict = output_checks.judge(
        generation=generation,
        result=result(),
        facts=OutputFacts(transcript="I love pickles.", frames_checked=1),
    )
    assert verdict.status == "needs_review"
    assert verdict.findings == [{"check": "owner_restriction", "cameo_id": cameo.pk, "word": "pickles"}]
    assert verdict.flag["priority"] < 60


def test_a_flagged_verdict_opens_a_case_through_the_moderation_core(make_user, embeddings):
    """As the runner does: it sends `generation_flagged`, which moderation receives (generation may not
    import moderation)."""
    from generation.models import Generation
    from generation.signals import generation_flagged

    cameo = verified_cameo(make_user(username="maya"), embeddings["astronaut"], permission="everyone")
    generation = GenerationFactory(requester=make_user(username="leo"), cameos=[cameo], status="running")
    verdict = output_checks.judge(
        generation=generation,
        result=result(),
        facts=OutputFacts(transcript="a gory massacre", frames_checked=1),
    )
    generation_flagged.send(sender=Generation, generation=generation, **verdict.flag)
    case = Case.objects.get()
    assert case.target == generation
    assert case.flags.get().reason == "policy_blocked_category"
