"""Schemathesis over the whole generated schema, in process: for every operation, generated requests
(valid and invalid, as anonymous and as a signed-in user) must never get a 5xx, and every response must
match the schema. It grows with every endpoint added."""

import json
import re
from urllib.parse import quote

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from accounts.services import tokens_issue
from sora_social.wsgi import application
from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Schemathesis calls the WSGI app directly, so Django's end-of-request handler would close the
    database connection, and with it the test's transaction (Django's own test client unhooks it too)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    user = UserFactory(username="fuzzer")
    UserFactory(username="maya")
    return {"Authorization": f"Bearer {tokens_issue(user=user)['access']}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, bearer):
    # Every check but "a schema-valid request is accepted": a schema cannot say that a random e-mail
    # token is not a valid token, and the domain's 400 for it is the right answer.
    case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])


# Hostile input the schema does not describe, generated with Hypothesis: numbers in odd clothes, header
# values, path segments, JSON keys. Every answer must be below 500, and every error must be the JSON error
# shape (a client switches on `code`; an HTML page is a bug).

UNICODE_DIGITS = st.text(alphabet=st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=24)
ODD_NUMBERS = st.one_of(
    st.sampled_from(
        [
            "²",
            "٣",
            "\uff11\uff12",  # fullwidth 12
            "໒",
            "1e3",
            "0x10",
            "-1",
            " 1",
            "1 ",
            "+1",
            "1_000",
            "",
            "0" * 30,
            "9" * 19,
            "9" * 400,
        ]
    ),
    UNICODE_DIGITS,
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
)
ODD_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=120
)
ODD_HEADER_VALUES = st.one_of(
    ODD_NUMBERS,
    ODD_TEXT,
    st.sampled_from(
        ["bytes=²-", "bytes=0-99", "bytes=-", "bytes=99-0", "bytes=0-" + "9" * 40, "Bearer", "Bearer ²"]
    ),
)
ODD_SEGMENTS = st.one_of(
    ODD_NUMBERS,
    st.sampled_from(
        ["%0A", "%0D%0A", "%00", "%FF", "%C0%AF", "%2F", "..", "%2e%2e", "é", "\u202e", "a" * 300]
    ),
    st.text(
        alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
        min_size=1,
        max_size=30,
    ),
)
FUZZ_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)


# The server-rendered pages (accounts/web.py, feed/web/): a refusal there may be an HTML page instead of the
# API's shape (a path no route matches answers the API's shape unless a browser asks for HTML).
WEB_PAGE_PREFIXES = ("/v/", "/u/", "/me/", "/login/", "/logout/")


def _assert_not_a_crash(response, what, *, page=False):
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"
    if response.status_code >= 400 and page and response["Content-Type"].startswith("text/html"):
        return
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), f"{what}: {response.content[:300]!r}"
        assert {"code", "message", "extra"} <= set(response.json()), what


@pytest.fixture
def world(db, settings, tmp_path):
    from tests.test_authorization_matrix import World

    settings.CAMEO_UPLOAD_SPOOL_DIR = tmp_path / "spool"
    settings.CAMEO_UPLOAD_SPOOL_DIR.mkdir()
    settings.GENERATION_DAILY_QUOTA = settings.GENERATION_MAX_CONCURRENT = 10**6
    return World()


def _client(world, **extra):
    client = world.client("owner")
    client.raise_request_exception = False  # a crash must show as the 500 a client would get
    return client


LIST_PATHS = [
    "/api/v1/users/me/blocks/",
    "/api/v1/feed/",
    "/api/v1/generations/",
    "/api/v1/cameos/access-requests/",
    "/api/v1/users/maya/followers/",
]


@pytest.mark.django_db
@FUZZ_SETTINGS
@given(
    path=st.sampled_from(LIST_PATHS),
    parameter=st.sampled_from(["page_size", "cursor", "status", "direction"]),
    value=st.one_of(ODD_NUMBERS, ODD_TEXT),
)
def test_odd_query_values_are_never_a_crash(world, path, parameter, value):
    response = _client(world).get(path, {parameter: value})

    _assert_not_a_crash(response, f"GET {path}?{parameter}={value!r}")
    if parameter == "page_size":
        assert (
            response.status_code == 200
            if value.isascii() and value.isdigit() and 1 <= int(value) <= 100
            else 400
        )


def _as_a_server_delivers(value: str) -> str:
    """A header value as WSGI/ASGI servers hand it over: bytes read as latin-1 (a client's UTF-8 "²" is
    "Â²", a latin-1 byte 0xB2 is "²"), and no control characters (servers refuse them)."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        value = value.encode("utf-8").decode("latin-1")
    return "".join(c for c in value if c == "\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0))


def _header_request(world, client, header, value):
    if header == "HTTP_UPLOAD_OFFSET":
        url = f"/api/v1/cameos/uploads/{world.upload.pk}/"
        return client.generic(
            "PATCH", url, b"0123456789", content_type="application/octet-stream", **{header: value}
        )
    if header == "HTTP_IDEMPOTENCY_KEY":
        body = json.dumps({"prompt": "a cat plays chess on the moon"})
        return client.generic(
            "POST", "/api/v1/generations/", body, content_type="application/json", **{header: value}
        )
    if header == "HTTP_RANGE":
        return client.get(f"/media-signed/{world.media_token}", **{header: value})
    if header == "CONTENT_TYPE":
        return client.generic("POST", "/api/v1/auth/logout/", '{"refresh": "x"}', content_type=value)
    return client.get("/api/v1/users/me/", **{header: value})


@pytest.mark.django_db
@FUZZ_SETTINGS
@given(
    header=st.sampled_from(
        [
            "HTTP_UPLOAD_OFFSET",
            "HTTP_IDEMPOTENCY_KEY",
            "HTTP_RANGE",
            "HTTP_AUTHORIZATION",
            "HTTP_X_REQUEST_ID",
            "CONTENT_TYPE",
        ]
    ),
    value=ODD_HEADER_VALUES,
    as_bearer=st.booleans(),
)
def test_odd_header_values_are_never_a_crash(world, header, value, as_bearer):
    client = _client(world)
    if header == "HTTP_AUTHORIZATION":
        client.credentials()
        value = f"Bearer {value}" if as_bearer else value
    value = _as_a_server_delivers(value)

    response = _header_request(world, client, header, value)

    _assert_not_a_crash(response, f"{header}={value!r}")
    if header == "HTTP_UPLOAD_OFFSET" and not (value.isascii() and value.isdigit()):
        assert response.json()["code"] == "upload_offset_required"
    if header == "HTTP_X_REQUEST_ID":
        assert len(response["X-Request-ID"]) <= 64 and "\n" not in response["X-Request-ID"]


def _routes_with_parameters():
    from tests.test_authorization_matrix import routes

    return sorted({(method, route) for _name, method, route in routes() if "<" in route})


@pytest.mark.django_db
@FUZZ_SETTINGS
@given(target=st.sampled_from(_routes_with_parameters()), segment=ODD_SEGMENTS)
def test_odd_path_segments_are_never_a_crash(world, target, segment):
    method, route = target
    raw = segment if segment.startswith("%") else quote(segment, safe="")
    path = "/" + re.sub(r"<[^>]+>", lambda _: raw, route)

    response = _client(world).generic(method, path, "{}", content_type="application/json")

    _assert_not_a_crash(response, f"{method} {path}", page=path.startswith(WEB_PAGE_PREFIXES))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/users/maya%00/", "/api/v1/users/me/blocks/?cursor=%00", "/api/v1/feed/?%00=1"]
)
def test_a_nul_in_the_url_is_400(world, path):
    """Before the fix `maya%00` found @maya on SQLite (and is a 500 on PostgreSQL, which cannot hold NUL)."""
    response = _client(world).get(path)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/v1/users/maya%0A/", "/api/v1/%0A"],
)
def test_a_newline_in_the_path_answers_json_in_debug_too(world, settings, path):
    settings.DEBUG = True

    response = _client(world).get(path)

    _assert_not_a_crash(response, path)
    assert response.status_code == 404


def _json_routes():
    """(method, route, whether the view parses its input with an InputSerializer) for each JSON write route."""
    from tests.test_authorization_matrix import _walk

    found = []
    for route, _name, pattern in _walk(get_resolver()):
        view = getattr(pattern.callback, "view_class", None)
        if not hasattr(view, "get_parsers"):  # not an API view: a web page's form, or a plain function
            continue
        if any(p.media_type != "application/json" for p in view().get_parsers()):
            continue
        for method in ("post", "patch", "put"):
            if hasattr(view, method):
                strict = any(n.endswith("InputSerializer") for n in dir(view)) or (
                    hasattr(view, "serializer_class")
                    and method == "post"
                    and view.__name__ in ("LoginApi", "RefreshApi")
                )
                found.append((method.upper(), route, strict))
    return sorted(found)


def _hostile_body(kind, key, number):
    if kind == "unknown_key":
        return json.dumps({key: number}), key
    if kind == "duplicate_key":
        return f'{{"{key}": 1, "{key}": 2}}', key
    if kind == "huge_number":
        return f'{{"prompt": {number}, "size": {number}, "page_size": {number}}}', None
    if kind == "deep":
        return "[" * 50_000 + "]" * 50_000, None
    return json.dumps({"username": number, "size": number, "remix_of": number, "prompt": number}), None


@pytest.mark.django_db
@FUZZ_SETTINGS
@given(
    target=st.sampled_from(_json_routes()),
    kind=st.sampled_from(["unknown_key", "duplicate_key", "huge_number", "deep", "unicode_digits"]),
    key=st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters='"\\'),
        min_size=1,
        max_size=20,
    ),
    number=st.one_of(
        st.integers(min_value=-(10**400), max_value=10**400).map(str),
        st.sampled_from(["1e400", "-0", "1E-400"]),
        UNICODE_DIGITS.map(json.dumps),
    ),
)
def test_hostile_json_bodies_are_never_a_crash(world, target, kind, key, number):
    method, route, strict = target
    path = "/" + re.sub(
        r"<[^>]+>", lambda m: str(world.kwargs(route, "main")[m.group(0).strip("<>").split(":")[-1]]), route
    )
    body, named = _hostile_body(kind, key, number)

    response = _client(world).generic(method, path, body, content_type="application/json")

    _assert_not_a_crash(response, f"{method} {path} {body[:80]!r}")
    if named is not None and strict:
        assert response.status_code >= 400, f"{method} {path} accepted {body[:80]!r}"
        if response.json()["code"] == "validation_error":
            code = "unknown_field" if kind == "unknown_key" else "duplicate_key"
            assert response.json()["extra"]["fields"][named][0]["code"] == code
