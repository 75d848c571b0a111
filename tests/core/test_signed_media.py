"""Media tokens for local files: opaque, unforgeable without the install's media key, and never valid
for longer than the server's cap, whatever lifetime they were made with."""

import base64
import contextlib
import time
import zlib

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.signed_media import signed_media_url

pytestmark = pytest.mark.django_db

NAME = "cameos/7/references/face.png"


@pytest.fixture
def stored_face():
    return default_storage.save(NAME, ContentFile(b"\x89PNG reference face"))


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


def test_a_fresh_link_serves_the_file(client, stored_face):
    response = client.get(signed_media_url(stored_face, 60))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG reference face"
    assert response["Cache-Control"] == "private, no-store"


def test_the_token_does_not_contain_the_path(stored_face):
    token = token_of(signed_media_url(stored_face, 60))

    for text in recoverable_texts(token):
        assert b"references" not in text and b"face.png" not in text, text[:80]


def test_a_token_older_than_the_cap_is_refused_whatever_it_asked_for(
    client, stored_face, settings, monkeypatch
):
    settings.MEDIA_URL_MAX_AGE_SECONDS = 600
    url = signed_media_url(stored_face, 30 * 24 * 3600)  # asks to live for a month
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 601)

    response = client.get(url)

    assert response.status_code == 403
    assert response.json()["code"] == "media_link_invalid"


def test_a_token_expires_at_its_own_shorter_lifetime(client, stored_face, monkeypatch):
    url = signed_media_url(stored_face, 60)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 61)

    assert client.get(url).status_code == 403


def test_a_never_expiring_link_made_with_the_repositorys_old_key_is_refused(client, stored_face):
    forged = signing.dumps(
        {"name": stored_face, "ttl": 10**12},
        key="dev-insecure-key-change-me-in-production-0123456789",
        salt="core.signed-media",
        compress=True,
    )

    response = client.get(f"/media-signed/{forged}")

    assert response.status_code == 403
    assert response.json()["code"] == "media_link_invalid"


def test_an_altered_token_is_refused(client, stored_face):
    token = token_of(signed_media_url(stored_face, 60))
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]

    assert client.get(f"/media-signed/{altered}").status_code == 403
    assert client.get("/media-signed/not-a-token").status_code == 403


def test_a_token_has_one_spelling(client, stored_face):
    url = signed_media_url(stored_face, 60)

    assert client.get(url + "x").status_code == 403
    assert client.get(url + "==").status_code == 403
