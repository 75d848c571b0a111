"""The S3 path, against a real S3-compatible HTTP server on loopback (moto's server): a pre-signed POST
straight to the bucket, completion that probes the object, signed GETs for the owner."""

import base64
import json
from datetime import datetime, timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, RequestFactory
from django.utils import timezone
from moto.server import ThreadedMotoServer

from cameos.models import Cameo, CameoUpload, LivenessChallenge
from core.signed_media import signed_media_url
from tests.factories import CameoFactory
from tests.fixtures import recordings

pytestmark = pytest.mark.django_db

BUCKET = "sora-test-media"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    options = {
        **settings.S3_STORAGE["OPTIONS"],
        "bucket_name": BUCKET,
        "endpoint_url": s3_endpoint,
        "access_key": "test-key",
        "secret_key": "test-secret",
        "region_name": "us-east-1",
    }
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.S3_STORAGE, "OPTIONS": options}}
    client = default_storage.connection.meta.client
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def start_direct(client, user, size):
    challenge = LivenessChallenge.objects.create(user=user, digits="4729", expires_at="2999-01-01T00:00:00Z")
    response = client.post(
        "/api/v1/cameos/uploads/", {"challenge_id": challenge.pk, "size": size, "direct": True}
    )
    assert response.status_code == 201, response.json()
    return response.json()


def post_to_bucket(upload, data: bytes) -> requests.Response:
    return requests.post(
        upload["direct_upload_url"],
        data=upload["direct_upload_fields"],
        files={"file": ("x.mp4", data)},
        timeout=30,
    )


def test_direct_upload_lands_probes_and_is_served_signed(
    client_for, user, recording, s3_storage, monkeypatch
):
    monkeypatch.setattr("cameos.tasks.verify_cameo_task.apply_async", lambda args, kwargs: None)
    data = recording(recordings.GOOD).read_bytes()
    client = client_for(user)
    upload = start_direct(client, user, len(data))

    assert post_to_bucket(upload, data).status_code in (200, 201, 204)
    completed = client.post(f"/api/v1/cameos/uploads/{upload['id']}/complete/")

    assert completed.status_code == 202, completed.json()
    cameo = Cameo.objects.get(pk=completed.json()["id"])
    assert keys(s3_storage) == [cameo.recording.name]  # the incoming object is gone
    media = client.get(f"/api/v1/cameos/{cameo.pk}/media/").json()
    assert "X-Amz-Signature" in media["recording_url"] and "X-Amz-Expires=300" in media["recording_url"]
    assert requests.get(media["recording_url"], timeout=30).content == data
    assert requests.get(media["recording_url"].split("?")[0], timeout=30).status_code == 403  # not public
    assert not CameoUpload.objects.exists()


def test_a_hostile_object_is_refused_and_removed_from_the_bucket(client_for, user, s3_storage):
    client = client_for(user)
    payload = b"definitely not a video" * 10
    upload = start_direct(client, user, len(payload))
    post_to_bucket(upload, payload)

    response = client.post(f"/api/v1/cameos/uploads/{upload['id']}/complete/")

    assert response.status_code == 400
    assert response.json()["code"] == "media_unknown_format"
    assert keys(s3_storage) == []
    assert not Cameo.objects.exists()


def test_completing_before_anything_arrived_is_409(client_for, user, s3_storage):
    client = client_for(user)
    upload = start_direct(client, user, 1000)

    response = client.post(f"/api/v1/cameos/uploads/{upload['id']}/complete/")

    assert response.status_code == 409
    assert response.json()["code"] == "upload_incomplete"


def test_direct_upload_needs_object_storage(client_for, user):
    challenge = LivenessChallenge.objects.create(user=user, digits="4729", expires_at="2999-01-01T00:00:00Z")

    response = client_for(user).post(
        "/api/v1/cameos/uploads/", {"challenge_id": challenge.pk, "size": 10, "direct": True}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "direct_upload_unavailable"


def test_with_a_public_endpoint_clients_get_urls_signed_for_that_name(
    client_for, user, recording, s3_storage, s3_endpoint, settings, monkeypatch
):
    # given: the store reached as 127.0.0.1 inside, published to clients as localhost (same server)
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    options = {**settings.STORAGES["default"]["OPTIONS"], "public_endpoint_url": public}
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": options}}
    monkeypatch.setattr("cameos.tasks.verify_cameo_task.apply_async", lambda args, kwargs: None)
    data = recording(recordings.GOOD).read_bytes()
    client = client_for(user)

    # when: a direct upload through the form the API hands out, then the owner's media URL
    upload = start_direct(client, user, len(data))
    assert upload["direct_upload_url"].startswith(public)
    assert post_to_bucket(upload, data).status_code in (200, 201, 204)
    completed = client.post(f"/api/v1/cameos/uploads/{upload['id']}/complete/")
    assert completed.status_code == 202, completed.json()
    media = client.get(f"/api/v1/cameos/{completed.json()['id']}/media/").json()

    # then: the URL names the public endpoint, is signed, and serves the bytes
    assert (
        media["recording_url"].startswith(f"{public}/{BUCKET}/")
        and "X-Amz-Signature" in media["recording_url"]
    )
    assert requests.get(media["recording_url"], timeout=30).content == data


def test_signed_s3_links_serve_byte_ranges_as_phones_seek(
    client_for, user, recording, s3_storage, monkeypatch
):
    """The store answers ranges of a pre-signed GET itself (206 + Content-Range), like our local links."""
    monkeypatch.setattr("cameos.tasks.verify_cameo_task.apply_async", lambda args, kwargs: None)
    data = recording(recordings.GOOD).read_bytes()
    client = client_for(user)
    upload = start_direct(client, user, len(data))
    assert post_to_bucket(upload, data).status_code in (200, 201, 204)
    completed = client.post(f"/api/v1/cameos/uploads/{upload['id']}/complete/")
    media = client.get(f"/api/v1/cameos/{completed.json()['id']}/media/").json()

    first = requests.get(media["recording_url"], headers={"Range": "bytes=0-99"}, timeout=30)
    last = requests.get(media["recording_url"], headers={"Range": "bytes=-10"}, timeout=30)
    past = requests.get(media["recording_url"], headers={"Range": f"bytes={len(data)}-"}, timeout=30)

    assert (first.status_code, first.headers["Content-Range"]) == (206, f"bytes 0-99/{len(data)}")
    assert first.content == data[:100]
    assert (last.status_code, last.content) == (206, data[-10:])
    assert past.status_code == 416


def test_the_bucket_form_expires_with_the_challenge(client_for, user, s3_storage):
    challenge = LivenessChallenge.objects.create(
        user=user, digits="4729", expires_at=timezone.now() + timedelta(seconds=120)
    )

    upload = (
        client_for(user)
        .post("/api/v1/cameos/uploads/", {"challenge_id": challenge.pk, "size": 1000, "direct": True})
        .json()
    )

    policy = json.loads(base64.b64decode(upload["direct_upload_fields"]["policy"]))
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert expiration <= challenge.expires_at + timedelta(seconds=1)


def test_a_shareable_link_is_served_by_our_route_from_the_bucket(s3_storage, user):
    """A share page's day-long link must stay recallable (a pre-signed GET cannot be), so even with S3 it
    goes through the media route, whose guard is asked at every request, and serves byte ranges."""
    name = default_storage.save(f"cameos/{user.pk}/references/face.png", ContentFile(b"0123456789"))
    cameo = CameoFactory(owner=user, reference_image=name)
    url = signed_media_url(name, 24 * 3600, request=RequestFactory().get("/"), viewer_id=user.pk, shareable=True)

    assert url.startswith("http://testserver/media-signed/")
    response = Client().get(url, HTTP_RANGE="bytes=2-5")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == b"2345"
    Cameo.objects.filter(pk=cameo.pk).update(reference_image="")
    assert Client().get(url).status_code == 404
