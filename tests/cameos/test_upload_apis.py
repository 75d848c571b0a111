"""Uploading a cameo recording: one request or resumable chunks; hostile files refused with stable codes,
leaving storage, database and challenge exactly as they were."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from cameos.models import Cameo, CameoUpload, LivenessChallenge
from ml.media import write_mp4
from tests.fixtures import recordings
from tests.fixtures.hostile import build_hostile

pytestmark = pytest.mark.django_db


def _clip(
    path: Path, *, seconds: float, size: tuple[int, int] = (320, 240), fps: int = 5, audio: bool = True
):
    width, height = size
    frames = [np.full((height, width, 3), (i * 7) % 255, dtype=np.uint8) for i in range(int(seconds * fps))]
    sound = (0.1 * np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(16000 * seconds)))).astype(np.float32)
    return write_mp4(path, frames, fps=fps, audio=sound if audio else None, sample_rate=16000)


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """{case: (file, expected error code)}: at least 20 ways a recording can be unusable."""
    folder = tmp_path_factory.mktemp("hostile")
    base = build_hostile(folder / "base")
    corpus = {
        code: (path, f"media_{code}") for code, path in base.items() if code not in ("valid", "missing_file")
    }
    valid = base["valid"].read_bytes()

    def put(name: str, data: bytes, code: str) -> None:
        path = folder / name
        path.write_bytes(data)
        corpus[name] = (path, code)

    jpeg = io.BytesIO()
    Image.new("RGB", (640, 480), "red").save(jpeg, format="JPEG")
    put("photo_renamed.mp4", jpeg.getvalue(), "media_not_a_video")
    gif = io.BytesIO()
    Image.new("P", (320, 240)).save(
        gif, format="GIF", save_all=True, append_images=[Image.new("P", (320, 240), 3)]
    )
    put("animated_gif.mov", gif.getvalue(), "media_not_a_video")
    put("text.mp4", b"hello, I am not a video\n" * 20, "media_unknown_format")
    put("html.webm", b"<!doctype html><html><body>hi</body></html>", "media_unknown_format")
    put("random.mp4", np.random.default_rng(0).bytes(50_000), "media_unknown_format")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("inner.mp4", valid)
    put("nested_zip.mp4", archive.getvalue(), "media_unknown_format")
    put("header_only.mp4", valid[:64], "media_truncated")
    put("zeroed_tail.mp4", valid[:200] + bytes(len(valid) - 200), "media_corrupt")
    corpus["too_short_1s"] = (_clip(folder / "short.mp4", seconds=1.0), "media_bad_duration")
    corpus["too_long_35s"] = (_clip(folder / "long.mp4", seconds=35.0, fps=1), "media_bad_duration")
    corpus["too_small_64px"] = (
        _clip(folder / "small.mp4", seconds=3.0, size=(64, 64)),
        "media_bad_dimensions",
    )
    corpus["silent_video"] = (_clip(folder / "silent.mp4", seconds=3.0, audio=False), "media_no_audio_stream")
    assert len(corpus) >= 20, sorted(corpus)
    return corpus


def storage_files() -> list[str]:
    found = []

    def walk(folder: str) -> None:
        if not default_storage.exists(folder or "."):
            return
        dirs, files = default_storage.listdir(folder)
        found.extend(f"{folder}/{name}" for name in files)
        for name in dirs:
            walk(f"{folder}/{name}" if folder else name)

    walk("")
    return found


def challenge_for(user, digits="4729"):
    return LivenessChallenge.objects.create(user=user, digits=digits, expires_at="2999-01-01T00:00:00Z")


def test_hostile_corpus_is_refused_and_leaves_nothing(client_for, user, hostile_corpus, settings, subtests):
    client = client_for(user)
    challenge = challenge_for(user)
    before = storage_files()

    for name, (path, expected) in sorted(hostile_corpus.items()):
        with subtests.test(case=name):
            with path.open("rb") as recording:
                response = client.post(
                    "/api/v1/cameos/",
                    {"challenge_id": challenge.pk, "recording": recording},
                    format="multipart",
                )
            assert 400 <= response.status_code < 500, (name, response.status_code)
            assert response.json()["code"] == expected, (name, response.json())

    assert storage_files() == before
    assert not Cameo.objects.exists()
    assert not list(settings.CAMEO_UPLOAD_SPOOL_DIR.glob("*"))
    challenge.refresh_from_db()
    assert challenge.used_at is None


def test_oversized_upload_is_413_before_reading(client_for, user, settings, hostile_corpus):
    settings.CAMEO_MAX_UPLOAD_BYTES = 1000
    path, _ = hostile_corpus["too_long_35s"]

    with path.open("rb") as recording:
        response = client_for(user).post(
            "/api/v1/cameos/",
            {"challenge_id": challenge_for(user).pk, "recording": recording},
            format="multipart",
        )

    assert response.status_code == 413
    assert response.json()["code"] == "media_file_too_large"


def test_good_recording_is_accepted_stored_under_our_name_and_queued(
    client_for, user, recording, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "cameos.tasks.verify_cameo_task.apply_async", lambda args, kwargs: queued.append(args)
    )
    challenge = challenge_for(user)

    with recording(recordings.GOOD).open("rb") as data, django_capture_on_commit_callbacks(execute=True):
        upload = io.BytesIO(data.read())
        upload.name = "../../etc/My Selfie (1).mp4"
        response = client_for(user).post(
            "/api/v1/cameos/", {"challenge_id": challenge.pk, "recording": upload}, format="multipart"
        )

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "uploaded"
    cameo = Cameo.objects.get(pk=body["id"])
    assert cameo.recording.name.startswith(f"cameos/{user.pk}/recordings/")
    assert "Selfie" not in cameo.recording.name and ".." not in cameo.recording.name
    assert queued == [(cameo.pk,)]
    challenge.refresh_from_db()
    assert challenge.used_at is not None
    assert "recording" not in body and "transcript" not in body


def test_a_challenge_works_once(client_for, user, recording):
    challenge = challenge_for(user)
    client = client_for(user)
    with recording(recordings.GOOD).open("rb") as data:
        client.post("/api/v1/cameos/", {"challenge_id": challenge.pk, "recording": data}, format="multipart")
    Cameo.objects.all().delete()

    with recording(recordings.GOOD).open("rb") as data:
        response = client.post(
            "/api/v1/cameos/", {"challenge_id": challenge.pk, "recording": data}, format="multipart"
        )

    assert response.status_code == 409
    assert response.json()["code"] == "challenge_used"


def test_another_users_challenge_is_not_found(client_for, user, other_user, recording):
    with recording(recordings.GOOD).open("rb") as data:
        response = client_for(other_user).post(
            "/api/v1/cameos/", {"challenge_id": challenge_for(user).pk, "recording": data}, format="multipart"
        )

    assert response.status_code == 404
    assert response.json()["code"] == "challenge_not_found"


def test_anonymous_upload_is_401(api_client):
    assert api_client.post("/api/v1/cameos/", {}, format="multipart").status_code == 401


class TestResumableUpload:
    def test_chunks_resume_after_a_drop_and_complete(self, client_for, user, recording, monkeypatch):
        monkeypatch.setattr("cameos.tasks.verify_cameo_task.apply_async", lambda args, kwargs: None)
        data = recording(recordings.GOOD).read_bytes()
        client = client_for(user)
        started = client.post(
            "/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": len(data)}
        )
        assert started.status_code == 201
        url = f"/api/v1/cameos/uploads/{started.json()['id']}/"
        half = len(data) // 2

        first = client.generic(
            "PATCH", url, data[:half], content_type="application/octet-stream", HTTP_UPLOAD_OFFSET="0"
        )
        # the client lost its connection and does not know what arrived: it asks, then resumes there
        offset = client.get(url).json()["offset"]
        stale = client.generic(
            "PATCH", url, data[:10], content_type="application/octet-stream", HTTP_UPLOAD_OFFSET="0"
        )
        rest = client.generic(
            "PATCH",
            url,
            data[offset:],
            content_type="application/octet-stream",
            HTTP_UPLOAD_OFFSET=str(offset),
        )
        completed = client.post(url + "complete/")

        assert first.json()["offset"] == half == offset
        assert stale.status_code == 409 and stale.json()["extra"]["offset"] == half
        assert rest.json()["offset"] == len(data)
        assert completed.status_code == 202
        cameo = Cameo.objects.get(pk=completed.json()["id"])
        with default_storage.open(cameo.recording.name, "rb") as stored:
            assert stored.read() == data
        assert not CameoUpload.objects.exists()

    def test_completing_an_incomplete_upload_is_409(self, client_for, user):
        client = client_for(user)
        upload = client.post(
            "/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": 100}
        ).json()

        response = client.post(f"/api/v1/cameos/uploads/{upload['id']}/complete/")

        assert response.status_code == 409
        assert response.json()["code"] == "upload_incomplete"

    def test_a_hostile_file_uploaded_in_chunks_is_refused_and_discarded(
        self, client_for, user, hostile_corpus, settings
    ):
        data = hostile_corpus["photo_renamed.mp4"][0].read_bytes()
        client = client_for(user)
        upload = client.post(
            "/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": len(data)}
        ).json()
        url = f"/api/v1/cameos/uploads/{upload['id']}/"
        client.generic("PATCH", url, data, content_type="application/octet-stream", HTTP_UPLOAD_OFFSET="0")

        response = client.post(url + "complete/")

        assert response.json()["code"] == "media_not_a_video"
        assert not CameoUpload.objects.exists()
        assert not list(settings.CAMEO_UPLOAD_SPOOL_DIR.glob("*"))
        assert storage_files() == []

    def test_other_users_cannot_touch_an_upload(self, client_for, user, other_user):
        upload = (
            client_for(user)
            .post("/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": 10})
            .json()
        )
        url = f"/api/v1/cameos/uploads/{upload['id']}/"
        intruder = client_for(other_user)

        assert intruder.get(url).status_code == 404
        response = intruder.generic(
            "PATCH", url, b"0123456789", content_type="application/octet-stream", HTTP_UPLOAD_OFFSET="0"
        )
        assert response.status_code == 404
        assert intruder.post(url + "complete/").status_code == 404

    def test_declared_size_over_the_limit_is_413(self, client_for, user, settings):
        settings.CAMEO_MAX_UPLOAD_BYTES = 100

        response = client_for(user).post(
            "/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": 101}
        )

        assert response.status_code == 413


@pytest.mark.parametrize("raw", ["²", "٣", "1" * 40, "-1", "0x10", " 0"])
def test_an_upload_offset_that_is_not_ascii_digits_is_400(client_for, user, raw):
    """Before the fix "²" passed `isdigit()` and crashed `int()` with an HTML 500."""
    client = client_for(user)
    upload = client.post(
        "/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": 10}
    ).json()

    response = client.generic(
        "PATCH",
        f"/api/v1/cameos/uploads/{upload['id']}/",
        b"0123456789",
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET=raw,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "upload_offset_required"


class TestUploadLimits:
    """Issue #11, item 7: one challenge used to open unlimited uploads that kept taking bytes after the
    challenge expired, and nothing let a client give one up."""

    @staticmethod
    def start(client, challenge, size=10):
        return client.post("/api/v1/cameos/uploads/", {"challenge_id": challenge.pk, "size": size})

    @staticmethod
    def append(client, upload_id, data, offset=0):
        return client.generic(
            "PATCH",
            f"/api/v1/cameos/uploads/{upload_id}/",
            data,
            content_type="application/octet-stream",
            HTTP_UPLOAD_OFFSET=str(offset),
        )

    def test_one_challenge_opens_one_upload(self, client_for, user):
        client = client_for(user)
        challenge = challenge_for(user)
        first = self.start(client, challenge)
        self.append(client, first.json()["id"], b"01234")

        second = self.start(client, challenge)

        assert first.status_code == 201
        assert second.status_code == 409
        assert second.json()["code"] == "upload_exists"
        assert second.json()["extra"] == {"upload_id": first.json()["id"], "offset": 5}
        assert CameoUpload.objects.count() == 1

    def test_open_uploads_per_user_are_capped(self, client_for, user, other_user, settings):
        settings.CAMEO_MAX_OPEN_UPLOADS = 2
        client = client_for(user)
        started = [self.start(client, challenge_for(user)).status_code for _ in range(3)]

        assert started == [201, 201, 429]
        refused = self.start(client, challenge_for(user))
        assert refused.json()["code"] == "too_many_uploads"
        # the cap is per user
        assert self.start(client_for(other_user), challenge_for(other_user)).status_code == 201

    def test_declared_bytes_per_user_are_capped(self, client_for, user, settings):
        settings.CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER = 1000
        client = client_for(user)

        first = self.start(client, challenge_for(user), size=600)
        second = self.start(client, challenge_for(user), size=600)

        assert first.status_code == 201
        assert second.status_code == 429
        assert second.json()["code"] == "upload_space_exceeded"
        assert second.json()["extra"] == {"limit_bytes": 1000, "reserved_bytes": 600}
        assert self.start(client, challenge_for(user), size=400).status_code == 201

    def test_an_aborted_upload_frees_its_slot_and_challenge(self, client_for, user, settings):
        settings.CAMEO_MAX_OPEN_UPLOADS = 1
        client = client_for(user)
        challenge = challenge_for(user)
        upload_id = self.start(client, challenge).json()["id"]

        assert client.delete(f"/api/v1/cameos/uploads/{upload_id}/").status_code == 204

        assert self.start(client, challenge).status_code == 201

    def test_appending_after_the_challenge_expired_is_refused_and_discards_the_bytes(
        self, client_for, user, settings
    ):
        client = client_for(user)
        challenge = challenge_for(user)
        upload_id = self.start(client, challenge, size=100).json()["id"]
        assert self.append(client, upload_id, b"x" * 10).status_code == 200
        LivenessChallenge.objects.filter(pk=challenge.pk).update(expires_at="2000-01-01T00:00:00Z")

        response = self.append(client, upload_id, b"y" * 10, offset=10)

        assert response.status_code == 409
        assert response.json()["code"] == "challenge_expired"
        assert not CameoUpload.objects.exists()
        assert not list(settings.CAMEO_UPLOAD_SPOOL_DIR.glob("*"))

    def test_an_upload_lives_no_longer_than_its_challenge(self, client_for, user):
        challenge = LivenessChallenge.objects.create(
            user=user, digits="4729", expires_at=timezone.now() + timedelta(minutes=5)
        )

        body = self.start(client_for(user), challenge).json()

        assert CameoUpload.objects.get(pk=body["id"]).expires_at == challenge.expires_at

    def test_appending_to_an_upload_whose_challenge_was_used_is_refused(self, client_for, user, recording):
        client = client_for(user)
        challenge = challenge_for(user)
        upload_id = self.start(client, challenge, size=100).json()["id"]
        with recording(recordings.GOOD).open("rb") as data:  # the same challenge, used by a one-shot upload
            client.post(
                "/api/v1/cameos/", {"challenge_id": challenge.pk, "recording": data}, format="multipart"
            )

        response = self.append(client, upload_id, b"x" * 10)

        assert response.status_code == 409
        assert response.json()["code"] == "challenge_used"
        assert not CameoUpload.objects.exists()


class TestUploadAbort:
    def test_the_owner_aborts_and_the_bytes_go_after_commit(
        self, client_for, user, settings, django_capture_on_commit_callbacks
    ):
        client = client_for(user)
        upload_id = client.post(
            "/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": 100}
        ).json()["id"]
        url = f"/api/v1/cameos/uploads/{upload_id}/"
        client.generic(
            "PATCH", url, b"z" * 50, content_type="application/octet-stream", HTTP_UPLOAD_OFFSET="0"
        )
        spool = settings.CAMEO_UPLOAD_SPOOL_DIR / f"{upload_id}.part"
        assert spool.stat().st_size == 50

        with django_capture_on_commit_callbacks() as callbacks:
            response = client.delete(url)
            assert spool.exists()  # nothing is destroyed before the row's deletion commits
        for callback in callbacks:
            callback()

        assert response.status_code == 204
        assert not spool.exists()
        assert not CameoUpload.objects.exists()
        assert client.get(url).status_code == 404
        assert client.delete(url).status_code == 404

    def test_another_user_cannot_abort_it(self, client_for, user, other_user):
        upload_id = (
            client_for(user)
            .post("/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": 10})
            .json()["id"]
        )

        response = client_for(other_user).delete(f"/api/v1/cameos/uploads/{upload_id}/")

        assert response.status_code == 404
        assert response.json()["code"] == "upload_not_found"
        assert CameoUpload.objects.filter(pk=upload_id).exists()

    def test_anonymous_cannot_abort_it(self, api_client, client_for, user):
        upload_id = (
            client_for(user)
            .post("/api/v1/cameos/uploads/", {"challenge_id": challenge_for(user).pk, "size": 10})
            .json()["id"]
        )

        assert api_client.delete(f"/api/v1/cameos/uploads/{upload_id}/").status_code == 401
        assert CameoUpload.objects.filter(pk=upload_id).exists()
