"""Signed links to a generation's video and poster: whether the viewer a link was handed to may still play
the file is asked again at every request (`core.signed_media`), with the one visibility rule."""

from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from core.signed_media import register_media_guard
from generation.selectors import generation_for_media


def viewer_may_play(name: str, viewer_id: int | None) -> bool:
    viewer = User.objects.filter(pk=viewer_id, is_active=True).first() if viewer_id is not None else None
    return generation_for_media(viewer=viewer or AnonymousUser(), name=name) is not None


def register() -> None:
    register_media_guard("generations/", viewer_may_play)
