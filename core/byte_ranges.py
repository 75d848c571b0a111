"""HTTP byte ranges (RFC 9110 §14) for the files we serve ourselves: phones' video players seek with
`Range: bytes=…` and refuse a video that does not answer 206 with `Content-Range` (iOS AVPlayer).

What a request gets:
- no `Range`, another unit, a malformed header, an `If-Range` that no longer matches, or more than
  MAX_RANGES ranges: 200 with the whole file (RFC 9110 lets a server ignore a Range it will not serve);
- one satisfiable range, or several that touch or overlap (coalesced): 206, `Content-Range: bytes a-b/size`;
- several separate ones: 206 `multipart/byteranges`, one part per range;
- none that overlaps the file: 416, `Content-Range: bytes */size`, the API's error body.
Every answer says `Accept-Ranges: bytes`. S3 serves ranges of pre-signed URLs itself."""

import re
import secrets
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse

from core.errors import CoreError
from core.exceptions import error_body

# More ranges than this in one request is a probe or an attack (many tiny ranges of one file): whole body.
MAX_RANGES = 16
CHUNK_BYTES = 64 * 1024
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")  # ASCII digits only: `int()` would also take `²`, `٣`


@dataclass(frozen=True)
class ByteRange:
    start: int  # first byte, inclusive
    end: int  # last byte, inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(Exception):
    """The header is valid, but no range in it overlaps a file of this size."""


def parse_range_header(header: str | None, size: int) -> list[ByteRange] | None:
    """The byte ranges `header` asks of a file of `size` bytes, clipped to it, in order, with ranges that
    overlap or touch merged; None when the whole file should be sent instead. Raises RangeNotSatisfiable."""
    if not header:
        return None
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    parts = [part.strip() for part in specs.split(",") if part.strip()]
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: list[ByteRange] = []
    for part in parts:
        match = _RANGE_SPEC.fullmatch(part)
        if match is None or match.group(1) == match.group(2) == "":
            return None
        first, last = match.group(1), match.group(2)
        if first == "":  # a suffix: the last N bytes
            suffix = int(last)
            if suffix > 0 and size > 0:
                ranges.append(ByteRange(max(0, size - suffix), size - 1))
            continue
        start = int(first)
        if last and int(last) < start:
            return None  # syntactically invalid: the whole header is ignored
        if start < size:
            ranges.append(ByteRange(start, min(int(last), size - 1) if last else size - 1))
    if not ranges:
        raise RangeNotSatisfiable
    merged: list[ByteRange] = []
    for item in sorted(ranges, key=lambda r: r.start):
        if merged and item.start <= merged[-1].end + 1:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, item.end))
        else:
            merged.append(item)
    return merged


def _read(file: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    file.seek(start)
    while length > 0:
        chunk = file.read(min(CHUNK_BYTES, length))
        if not chunk:
            return
        length -= len(chunk)
        yield chunk


def _stream(file: IO[bytes], pieces: Sequence[bytes | ByteRange]) -> Generator[bytes]:
    """The pieces in order (literal bytes, or a range of the file), closing the file at the end or when
    the client goes away (the response closes this generator)."""
    try:
        for piece in pieces:
            if isinstance(piece, bytes):
                yield piece
            else:
                yield from _read(file, piece.start, piece.length)
    finally:
        file.close()


async def _stream_async(chunks: Generator[bytes]) -> AsyncIterator[bytes]:
    """The same chunks, each read in a worker thread: under ASGI, Django reads a synchronous streaming
    body into one list before sending it (a whole video in memory); this one streams."""
    read_one = sync_to_async(lambda: next(chunks, None), thread_sensitive=False)
    try:
        while (chunk := await read_one()) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=False)()


def _body(
    request: HttpRequest, file: IO[bytes], pieces: Sequence[bytes | ByteRange]
) -> Iterator[bytes] | AsyncIterator[bytes]:
    chunks = _stream(file, pieces)
    return _stream_async(chunks) if isinstance(request, ASGIRequest) else chunks


def ranged_file_response(
    request: HttpRequest, file: IO[bytes], *, size: int, content_type: str, etag: str
) -> StreamingHttpResponse | JsonResponse:
    """`file` (open, `size` bytes) as the answer to `request`, honouring `Range` and `If-Range` (against
    the strong validator `etag`). The response owns the file and closes it."""
    header = request.headers.get("Range") if request.method in ("GET", "HEAD") else None
    if_range = request.headers.get("If-Range")
    if header is not None and if_range is not None and if_range.strip() != etag:
        header = None  # the client's copy is another version: send the whole current one
    try:
        ranges = parse_range_header(header, size)
    except RangeNotSatisfiable:
        file.close()
        response: StreamingHttpResponse | JsonResponse = JsonResponse(
            error_body(
                CoreError.RANGE_NOT_SATISFIABLE,
                f"No range in {header!r} overlaps this file of {size} bytes.",
                {"size": size},
            ),
            status=416,
        )
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response

    if ranges is None:
        response = StreamingHttpResponse(
            _body(request, file, [ByteRange(0, size - 1)]), content_type=content_type
        )
        length = size
    elif len(ranges) == 1:
        response = StreamingHttpResponse(_body(request, file, ranges), status=206, content_type=content_type)
        response["Content-Range"] = ranges[0].content_range(size)
        length = ranges[0].length
    else:
        boundary = secrets.token_hex(16)
        pieces: list[bytes | ByteRange] = []
        for item in ranges:
            pieces.append(
                f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: {item.content_range(size)}\r\n\r\n".encode()
            )
            pieces.append(item)
            pieces.append(b"\r\n")
        pieces.append(f"--{boundary}--\r\n".encode())
        length = sum(len(p) if isinstance(p, bytes) else p.length for p in pieces)
        response = StreamingHttpResponse(
            _body(request, file, pieces),
            status=206,
            content_type=f"multipart/byteranges; boundary={boundary}",
        )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    return response
