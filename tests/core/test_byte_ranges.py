"""Signed local media serves byte ranges, as phones' players need (206 + Content-Range; iOS refuses a
video without), through Django's test client and through a real uvicorn process."""

import urllib.error
import urllib.request
import warnings
from email import message_from_bytes

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import RequestFactory

from core.byte_ranges import MAX_RANGES, ByteRange, RangeNotSatisfiable, parse_range_header
from core.signed_media import signed_media_url
from tests.factories import GenerationFactory
from tests.processes import web_server

SIZE = 1000
BODY = bytes(range(256)) * 3 + bytes(SIZE - 768)


# -- the header --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", [(0, 99)]),
        ("bytes=900-", [(900, 999)]),
        ("bytes=-100", [(900, 999)]),
        ("bytes=-5000", [(0, 999)]),  # a suffix longer than the file is the whole file
        ("bytes=990-5000", [(990, 999)]),  # clipped to the file
        ("bytes=0-0,-1", [(0, 0), (999, 999)]),  # first and last byte: two parts
        ("bytes=0-99,50-149,150-199", [(0, 199)]),  # overlapping and touching ranges coalesce
        ("bytes=500-599,0-9", [(0, 9), (500, 599)]),  # in file order
        ("BYTES = 0-9", [(0, 9)]),  # the unit is case-insensitive
        ("bytes=0-9, ,", [(0, 9)]),  # empty list elements are allowed
        ("bytes=0-99,5000-6000", [(0, 99)]),  # an unsatisfiable one beside a satisfiable one is dropped
    ],
)
def test_ranges_are_read_clipped_and_coalesced(header, expected):
    assert parse_range_header(header, SIZE) == [ByteRange(start, end) for start, end in expected]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "items=0-9",  # another unit
        "bytes=9-0",  # last before first: invalid, ignored
        "bytes=-",
        "bytes=abc",
        "bytes=0-9;x",
        "bytes=²-9",  # a Unicode digit: int() would take it, the grammar does not
        "bytes=0-٩",
        "bytes=1 -9",
        ",".join(["bytes=0-0"] + ["2-2"] * MAX_RANGES),  # too many ranges: the whole body instead
    ],
)
def test_what_is_not_a_range_we_serve_means_the_whole_file(header):
    assert parse_range_header(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-1000,2000-"])
def test_ranges_past_the_end_are_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range_header(header, SIZE)


def test_an_empty_file_satisfies_no_range():
    with pytest.raises(RangeNotSatisfiable):
        parse_range_header("bytes=-10", 0)


def test_huge_numbers_are_just_past_the_end():
    assert parse_range_header(f"bytes=0-{10**40}", SIZE) == [ByteRange(0, 999)]
    with pytest.raises(RangeNotSatisfiable):
        parse_range_header(f"bytes={10**40}-", SIZE)


# -- through the signed media view ----------------------------------------------------------------------------


def _video_of_a_draft() -> tuple[str, int]:
    """A draft's stored video, and its requester's id (the viewer its link is handed to)."""
    generation = GenerationFactory()
    name = default_storage.save(f"generations/{generation.requester_id}/{generation.pk}/video.mp4", ContentFile(BODY))
    generation.video = name
    generation.save(update_fields=["video"])
    return name, generation.requester_id


@pytest.fixture
def media_url(db):
    name, viewer_id = _video_of_a_draft()
    return signed_media_url(name, 300, request=RequestFactory().get("/"), viewer_id=viewer_id)


def test_the_link_is_absolute(media_url):
    assert media_url.startswith("http://testserver/media-signed/")


def test_the_link_uses_the_configured_base_url_when_set(settings, db):
    settings.MEDIA_LINK_BASE_URL = "https://api.example.com/"
    name, viewer_id = _video_of_a_draft()

    url = signed_media_url(
        name, 300, request=RequestFactory().get("/", HTTP_HOST="10.0.0.7:8000"), viewer_id=viewer_id
    )

    assert url.startswith("https://api.example.com/media-signed/")


def test_a_range_request_answers_206_with_that_range(client, media_url):
    response = client.get(media_url, HTTP_RANGE="bytes=0-99")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-99/{SIZE}"
    assert response["Content-Length"] == "100"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content) == BODY[:100]


def test_without_a_range_the_whole_file_says_it_accepts_ranges(client, media_url):
    response = client.get(media_url)

    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(SIZE)
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == BODY


def test_a_suffix_range_is_the_end_of_the_file(client, media_url):
    response = client.get(media_url, HTTP_RANGE="bytes=-10")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 990-999/{SIZE}"
    assert b"".join(response.streaming_content) == BODY[-10:]


def test_an_unsatisfiable_range_is_416_with_the_size(client, media_url):
    response = client.get(media_url, HTTP_RANGE=f"bytes={SIZE}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert response.json()["code"] == "range_not_satisfiable"


def test_separate_ranges_come_as_multipart_byteranges(client, media_url):
    response = client.get(media_url, HTTP_RANGE="bytes=0-9,500-509")

    assert response.status_code == 206
    assert response["Content-Type"].startswith("multipart/byteranges; boundary=")
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    message = message_from_bytes(f"Content-Type: {response['Content-Type']}\r\n\r\n".encode() + body)
    parts = [(part["Content-Range"], part.get_payload(decode=True)) for part in message.get_payload()]
    assert parts == [(f"bytes 0-9/{SIZE}", BODY[:10]), (f"bytes 500-509/{SIZE}", BODY[500:510])]


def test_an_odd_range_header_gets_the_whole_file(client, media_url):
    response = client.get(media_url, HTTP_RANGE="bytes=²-9")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == BODY


def test_if_range_with_an_old_validator_gets_the_whole_file(client, media_url):
    etag = client.get(media_url)["ETag"]

    assert client.get(media_url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206
    stale = client.get(media_url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"0-0"')
    assert stale.status_code == 200
    assert b"".join(stale.streaming_content) == BODY


@pytest.mark.django_db(transaction=True)  # the view reads the draft's row from another thread
async def test_under_asgi_the_body_streams_instead_of_being_read_whole_first(async_client, media_url):
    """Django reads a synchronous streaming body into one list under ASGI (and warns); ours is async."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = await async_client.get(media_url, headers={"Range": "bytes=10-19"})
        body = b"".join([chunk async for chunk in response])

    assert response.is_async
    assert not [w for w in caught if "synchronous iterators" in str(w.message)]
    assert (response.status_code, body) == (206, BODY[10:20])


# -- through a real HTTP server -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_server_answers_a_range_request(settings, tmp_path):
    name, viewer_id = _video_of_a_draft()
    with web_server(data_dir=tmp_path) as base_url:
        path = signed_media_url(name, 300, request=RequestFactory().get("/"), viewer_id=viewer_id).removeprefix(
            "http://testserver"
        )
        request = urllib.request.Request(base_url + path, headers={"Range": "bytes=100-199"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-199/{SIZE}"
            assert response.read() == BODY[100:200]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                urllib.request.Request(base_url + path, headers={"Range": "bytes=5000-"}), timeout=30
            )
        assert refused.value.code == 416
        assert refused.value.headers["Content-Range"] == f"bytes */{SIZE}"
