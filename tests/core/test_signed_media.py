"""Media tokens for local files: opaque, unforgeable without the install's media key, never valid for longer
than the server's cap whatever lifetime they were made with; and the route serves a file only while the app
that owns it says the link's viewer may have it."""

import base64
import contextlib
import time
import zlib

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, RequestFactory

from core.signed_media import signed_media_url
from tests.factories import CameoFactory

pytestmark = pytest.mark.django_db

@pytest.fixture
def stored_face(user):
    """A cameo's reference face, whose links are handed to its owner (`link`)."""
    name = default_storage.save(f"cameos/{user.pk}/references/face.png", ContentFile(b"\x89PNG reference face"))
    CameoFactory(owner=user, reference_image=name)
    return name


def link(name: str, seconds: int, viewer_id: int | None) -> str:
    return signed_media_url(name, seconds, request=RequestFactory().get("/"), viewer_id=viewer_id)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def recoverable_texts(token: str) -> list[bytes]:
    """Whatever an attacker without the key can read out of a token: each base64 segment as is, and
    inflated when it is compressed (as django.core.signing's `compress=True` payloads are)."""
    found = [token.encode()]
    for segment in token.replace(".", ":").split(":"):
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except ValueError:
            continue
        found.append(raw)
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompress(raw))
    return found


def test_a_fresh_link_serves_the_file(client, stored_face, user):
    response = client.get(link(stored_face, 60, user.pk))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG reference face"
    assert response["Cache-Control"] == "private, no-store"


def test_the_token_does_not_contain_the_path(stored_face, user):
    token = token_of(link(stored_face, 60, user.pk))

    for text in recoverable_texts(token):
        assert b"references" not in text and b"face.png" not in text, text[:80]


def test_a_token_older_than_the_cap_is_refused_whatever_it_asked_for(
    client, stored_face, user, settings, monkeypatch
):
    settings.MEDIA_URL_MAX_AGE_SECONDS = 600
    url = link(stored_face, 30 * 24 * 3600, user.pk)  # asks to live for a month
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 601)

    response = client.get(url)

    assert response.status_code == 403
    assert response.json()["code"] == "media_link_invalid"


def test_a_shareable_link_lives_up_to_the_share_cap_and_no_longer(
    client, stored_face, user, settings, monkeypatch
):
    """Share pages hand link-preview crawlers links that live a day; an ordinary link's cap still holds."""
    settings.MEDIA_URL_MAX_AGE_SECONDS = 600
    settings.SHARE_MEDIA_URL_MAX_AGE_SECONDS = 3000
    request = RequestFactory().get("/")
    shared = signed_media_url(stored_face, 10**6, request=request, viewer_id=user.pk, shareable=True)
    ordinary = link(stored_face, 10**6, user.pk)
    real_time = time.time

    monkeypatch.setattr(time, "time", lambda: real_time() + 601)
    assert client.get(shared).status_code == 200
    assert client.get(ordinary).status_code == 403

    monkeypatch.setattr(time, "time", lambda: real_time() + 3001)
    assert client.get(shared).status_code == 403


def test_a_token_expires_at_its_own_shorter_lifetime(client, stored_face, user, monkeypatch):
    url = link(stored_face, 60, user.pk)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 61)

    assert client.get(url).status_code == 403


def test_a_never_expiring_link_made_with_the_repositorys_old_key_is_refused(client, stored_face, user):
    forged = signing.dumps(
        {"name": stored_face, "ttl": 10**12},
        key="dev-insecure-key-change-me-in-production-0123456789",
        salt="core.signed-media",
        compress=True,
    )

    response = client.get(f"/media-signed/{forged}")

    assert response.status_code == 403
    assert response.json()["code"] == "media_link_invalid"


def test_an_altered_token_is_refused(client, stored_face, user):
    token = token_of(link(stored_face, 60, user.pk))
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]

    assert client.get(f"/media-signed/{altered}").status_code == 403
    assert client.get("/media-signed/not-a-token").status_code == 403


def test_a_token_has_one_spelling(client, stored_face, user):
    url = link(stored_face, 60, user.pk)

    assert client.get(url + "x").status_code == 403
    assert client.get(url + "==").status_code == 403


def test_a_file_no_app_guards_is_not_served(user):
    name = default_storage.save("elsewhere/secret.bin", ContentFile(b"secret"))

    assert Client().get(link(name, 60, user.pk)).status_code == 404


def test_a_cameo_recording_reaches_its_owner_only(user, other_user):
    name = default_storage.save(f"cameos/{user.pk}/recordings/r.mp4", ContentFile(b"rec"))
    CameoFactory(owner=user, recording=name)

    assert Client().get(link(name, 60, user.pk)).status_code == 200
    assert Client().get(link(name, 60, other_user.pk)).status_code == 404
    assert Client().get(link(name, 60, None)).status_code == 404


def test_a_cameo_link_stops_working_when_the_account_is_deactivated(user):
    name = default_storage.save(f"cameos/{user.pk}/references/r.png", ContentFile(b"png"))
    CameoFactory(owner=user, reference_image=name)
    url = link(name, 60, user.pk)
    user.is_active = False
    user.save()

    assert Client().get(url).status_code == 404
