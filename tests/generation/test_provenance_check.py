""" "Did this file come from us?" on real renders: the signed file, a re-encoded copy, someone else's video."""

import av
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import Block
from generation import runner
from generation.models import Generation
from ml.media import write_mp4
from tests.fixtures import recordings
from tests.generation.test_runner_render import astronaut_identity, make_job  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
URL = "/api/v1/provenance/check/"


@pytest.fixture
def rendered(make_user, astronaut_identity, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr("generation.runner.push_to_user", lambda **kwargs: None)
    job = make_job(make_user, astronaut_identity)
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.failure_reason)
    original = tmp_path / "original.mp4"
    with default_storage.open(job.video.name, "rb") as stored:
        original.write_bytes(stored.read())
    return job, original


def reencoded(source, target):
    """What a re-upload elsewhere does: decode, scale to half, encode again harder; the manifest is gone."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        halves = [frame.to_ndarray(format="rgb24")[::2, ::2] for frame in container.decode(stream)]
        frames = [half[: half.shape[0] // 2 * 2, : half.shape[1] // 2 * 2] for half in halves]  # even sides
    with av.open(str(source)) as container:
        audio = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(audio=0)]).astype(
            np.float32
        )
        rate = container.streams.audio[0].rate
    return write_mp4(target, frames, fps=fps, audio=audio, sample_rate=rate, crf=35)


def check(client, path):
    with path.open("rb") as data:
        return client.post(URL, {"file": data}, format="multipart")


def test_the_signed_file_and_a_reencoded_copy_are_recognised(rendered, client_for, make_user, tmp_path):
    job, original = rendered
    body = check(client_for(job.requester), original).json()
    assert body["came_from_us"] is True
    assert (
        body["c2pa"]["state"] == "Trusted" and body["c2pa"]["signed_by_us"] and body["c2pa"]["ai_generated"]
    )
    assert body["fingerprint_matched"] and body["matched_generation_id"] == job.pk

    copy = reencoded(original, tmp_path / "copy.mp4")
    body = check(client_for(job.requester), copy).json()
    assert body["c2pa"]["state"] == "NoManifest"
    assert body["came_from_us"] is True and body["matched_generation_id"] == job.pk

    # a stranger learns it came from here, not which draft it is
    stranger = check(client_for(make_user(username="stranger")), copy).json()
    assert stranger["came_from_us"] is True and stranger["matched_generation_id"] is None


def test_the_answer_does_not_name_a_video_whose_cameo_owner_blocked_the_asker(
    rendered, client_for, make_user
):
    """Today the answer names a published video to someone blocked by the owner of a cameo in it."""
    job, original = rendered
    Generation.objects.filter(pk=job.pk).update(published_at=timezone.now())
    asker = make_user(username="asker")
    assert check(client_for(asker), original).json()["matched_generation_id"] == job.pk

    Block.objects.create(blocker=job.cameo_uses.get().owner, blocked=asker)

    body = check(client_for(asker), original).json()
    assert body["came_from_us"] is True and body["matched_generation_id"] is None


def test_someone_elses_video_did_not_come_from_us(rendered, client_for):
    job, _ = rendered
    body = check(client_for(job.requester), recordings.build(recordings.GOOD)).json()
    assert body == {
        "came_from_us": False,
        "c2pa": {"state": "NoManifest", "signed_by_us": False, "ai_generated": False, "engine": ""},
        "fingerprint_matched": False,
        "matched_generation_id": None,
        "video_bit_error_rate": None,
        "audio_bit_error_rate": None,
    }


def test_a_file_that_is_not_a_video_is_refused(client_for, make_user, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"<html>not a video</html>" * 50)
    response = check(client_for(make_user(username="leo")), junk)
    assert response.status_code == 400
    assert response.json()["code"].startswith("media_")


def test_anonymous_cannot_check(api_client, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"x")
    assert check(api_client, junk).status_code == 401
