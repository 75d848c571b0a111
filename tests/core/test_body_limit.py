"""Request bodies are bounded before anything reads them (issue #11, item 8): real ASGI calls into the
project's application, with the client's body fed one message at a time and every byte counted."""

import asyncio
import json
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from accounts.services import tokens_issue
from cameos.models import CameoUpload, LivenessChallenge
from sora_social.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024
CHUNK = 64 * 1024


class Exchange:
    """One HTTP request through the ASGI app: what the app pulled from the client, and what it answered.
    `body` yields (bytes, more_body) messages, as a server would deliver them."""

    def __init__(self, body: Iterator[tuple[bytes, bool]]) -> None:
        self.body = body
        self.bytes_pulled = 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        message = next(self.body, None)
        if message is None:
            await asyncio.Event().wait()  # the client waits for the answer (until the app stops listening)
        chunk, more_body = message
        self.bytes_pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": more_body}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(next(m["headers"] for m in self.sent if m["type"] == "http.response.start"))

    def json(self) -> dict:
        return json.loads(
            b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        )


def whole(data: bytes) -> Iterator[tuple[bytes, bool]]:
    """A body sent in CHUNK-sized messages, the last one saying there is no more."""
    pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    for index, piece in enumerate(pieces):
        yield piece, index < len(pieces) - 1


def endless(total: int) -> Iterator[tuple[bytes, bool]]:
    """A client that keeps sending, `total` bytes in all, whatever the server does."""
    count = total // CHUNK
    for index in range(count):
        yield b"x" * CHUNK, index < count - 1


def call(
    method: str, path: str, body: Iterator[tuple[bytes, bool]], headers: list[tuple[bytes, bytes]]
) -> Exchange:
    exchange = Exchange(body)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    async_to_sync(application)(scope, exchange.receive, exchange.send)
    return exchange


def call_with_length(method: str, path: str, data: bytes, headers: list[tuple[bytes, bytes]]) -> Exchange:
    return call(method, path, whole(data), [(b"content-length", str(len(data)).encode()), *headers])


def bearer(user) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {tokens_issue(user=user)['access']}".encode())


def test_a_declared_length_over_the_json_limit_is_413_before_reading(settings):
    exchange = call(
        "POST",
        "/api/v1/auth/signup/",
        endless(100 * MiB),
        [(b"content-type", b"application/json"), (b"content-length", str(100 * MiB).encode())],
    )

    assert exchange.status == 413
    assert exchange.headers[b"content-type"] == b"application/json"
    assert exchange.json() == {
        "code": "request_too_large",
        "message": f"The request body is larger than the {settings.REQUEST_BODY_MAX_BYTES} bytes this "
        "endpoint takes.",
        "extra": {"limit_bytes": settings.REQUEST_BODY_MAX_BYTES},
    }
    assert exchange.bytes_pulled == 0


def test_a_chunked_body_is_cut_off_at_the_limit(settings):
    exchange = call(
        "POST",
        "/api/v1/auth/signup/",
        endless(100 * MiB),
        [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
    )

    assert exchange.status == 413
    assert exchange.json()["code"] == "request_too_large"
    # read up to the limit and the one message that crossed it, never the other 99 MiB
    assert settings.REQUEST_BODY_MAX_BYTES < exchange.bytes_pulled <= settings.REQUEST_BODY_MAX_BYTES + CHUNK


def test_an_oversized_json_body_answers_413_json_not_html(settings):
    body = json.dumps({"username": "maya", "bio": "x" * (2 * MiB)}).encode()

    exchange = call_with_length(
        "POST", "/api/v1/auth/signup/", body, [(b"content-type", b"application/json")]
    )

    assert exchange.status == 413
    assert exchange.headers[b"content-type"] == b"application/json"
    assert exchange.json()["code"] == "request_too_large"


def test_a_json_body_within_the_limit_reaches_the_view():
    exchange = call_with_length(
        "POST", "/api/v1/auth/signup/", b"{}", [(b"content-type", b"application/json")]
    )

    assert exchange.status == 400
    assert exchange.json()["code"] == "validation_error"


def test_an_anonymous_100_mb_upload_is_refused_before_reading():
    """Today: the whole body was spooled to disk, then the view answered 401."""
    declared = call(
        "POST",
        "/api/v1/cameos/",
        endless(100 * MiB),
        [(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", str(100 * MiB).encode())],
    )
    streamed = call(
        "POST",
        "/api/v1/cameos/",
        endless(100 * MiB),
        [(b"content-type", b"multipart/form-data; boundary=x"), (b"transfer-encoding", b"chunked")],
    )
    forged = call(
        "POST",
        "/api/v1/cameos/",
        endless(100 * MiB),
        [(b"authorization", b"Bearer not-a-token"), (b"content-length", str(100 * MiB).encode())],
    )

    for exchange in (declared, streamed, forged):
        assert exchange.status == 401
        assert exchange.json()["code"] == "not_authenticated"
        assert exchange.bytes_pulled == 0


@pytest.fixture
def open_upload(user):
    challenge = LivenessChallenge.objects.create(user=user, digits="4729", expires_at="2999-01-01T00:00:00Z")
    upload = CameoUpload.objects.create(
        owner=user,
        challenge=challenge,
        size=20 * MiB,
        expires_at=timezone.now() + timezone.timedelta(hours=1),
    )
    return upload


def test_an_upload_route_takes_a_chunk_larger_than_the_json_limit(user, open_upload, settings, tmp_path):
    settings.CAMEO_UPLOAD_SPOOL_DIR = tmp_path
    (tmp_path / f"{open_upload.pk}.part").touch()
    chunk = b"v" * (2 * MiB)

    exchange = call_with_length(
        "PATCH",
        f"/api/v1/cameos/uploads/{open_upload.pk}/",
        chunk,
        [(b"content-type", b"application/octet-stream"), (b"upload-offset", b"0"), bearer(user)],
    )

    assert exchange.status == 200, exchange.json()
    assert exchange.json()["offset"] == 2 * MiB


def test_a_chunk_over_the_upload_routes_limit_is_413(user, open_upload, settings):
    too_big = settings.CAMEO_UPLOAD_MAX_CHUNK_BYTES + 1

    exchange = call(
        "PATCH",
        f"/api/v1/cameos/uploads/{open_upload.pk}/",
        endless(too_big + CHUNK),
        [(b"upload-offset", b"0"), (b"content-length", str(too_big).encode()), bearer(user)],
    )

    assert exchange.status == 413
    assert exchange.json()["extra"] == {"limit_bytes": settings.CAMEO_UPLOAD_MAX_CHUNK_BYTES}
    assert exchange.bytes_pulled == 0


def test_a_session_cookie_counts_as_credentials_for_an_upload_route(user, open_upload, client):
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    exchange = call("GET", f"/api/v1/cameos/uploads/{open_upload.pk}/", whole(b""), [(b"cookie", cookie)])

    assert exchange.status == 200, exchange.json()
    assert exchange.json()["offset"] == 0


def test_without_the_asgi_middleware_a_declared_oversized_json_body_is_still_413(api_client, settings):
    """Django's own check (WSGI, the test client): the same limit, the same answer."""
    body = json.dumps({"username": "maya", "bio": "x" * (2 * MiB)})

    response = api_client.generic("POST", "/api/v1/auth/signup/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
