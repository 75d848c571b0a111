from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from generation.models import Generation

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4


class Page(HTMLParser):
    """What a test reads of a page: its meta tags, the player's attributes, links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.videos: list[dict[str, str]] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.meta[values.get("property") or values["name"]] = values.get("content", "")
        elif tag == "video":
            self.videos.append(values)
        elif tag == "img":
            self.images.append(values.get("src", ""))
        elif tag == "a":
            self.links.append(values.get("href", ""))


def with_media(generation: Generation) -> Generation:
    """Give a generation a stored video and poster, as the job runner leaves them."""
    generation.video = default_storage.save(
        f"generations/{generation.pk}/video.mp4", ContentFile(VIDEO_BYTES)
    )
    generation.poster = default_storage.save(f"generations/{generation.pk}/poster.jpg", ContentFile(b"jpeg"))
    generation.save(update_fields=["video", "poster"])
    return generation


@pytest.fixture
def visitor():
    """A browser as `user` (signed in with a session), or anonymous for None."""

    def build(user) -> Client:
        client = Client()
        if user is not None and user.is_authenticated:
            client.force_login(user)
        return client

    return build


def play(url: str, **headers: str):
    """What a video player does with a link: a plain GET, no credentials."""
    return Client().get(url, **headers)
