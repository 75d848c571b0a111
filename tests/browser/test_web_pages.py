"""The web pages in a real browser (Debian's chromium through Playwright): a public post's share page
plays its video, the way the product's videos are made (H.264 + AAC in mp4, written by the engine's own
encoder); the cameo page approves an access request and takes an appearance down."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from cameos.models import AccessRequestStatus, CameoAccessRequest
from feed.models import Post
from generation.models import Generation
from ml.media.encode import write_mp4
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, CameoFactory, GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

FPS, SECONDS, WIDTH, HEIGHT, SAMPLE_RATE = 24, 2, 180, 320, 16_000  # the engine's audio rate
MP4_CODECS = 'video/mp4; codecs="avc1.42E01E, mp4a.40.2"'


@pytest.fixture(scope="module")
def h264_aac_video(tmp_path_factory) -> tuple[bytes, bytes]:
    """Two seconds of moving colour and a 440 Hz tone, as the product's videos are written
    (`ml.media.encode.write_mp4`: libx264 yuv420p, AAC), and a JPEG poster of its first frame."""
    frames = []
    for index in range(FPS * SECONDS):
        frame = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
        frame[..., 0] = np.linspace(0, 255, WIDTH, dtype=np.uint8)[None, :]
        frame[..., 2] = (index * 255) // (FPS * SECONDS)
        top = (index * 5) % (HEIGHT - 40)
        frame[top : top + 40, 70:110] = 255
        frames.append(frame)
    t = np.arange(SAMPLE_RATE * SECONDS) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
    path = write_mp4(
        tmp_path_factory.mktemp("video") / "video.mp4", frames, fps=FPS, audio=tone, sample_rate=SAMPLE_RATE
    )
    poster = io.BytesIO()
    Image.fromarray(frames[0]).save(poster, format="JPEG")
    return Path(path).read_bytes(), poster.getvalue()


def _with_media(generation: Generation, video: tuple[bytes, bytes]) -> Generation:
    mp4, jpeg = video
    generation.video = default_storage.save(f"generations/{generation.pk}/video.mp4", ContentFile(mp4))
    generation.poster = default_storage.save(f"generations/{generation.pk}/poster.jpg", ContentFile(jpeg))
    generation.save(update_fields=["video", "poster"])
    return generation


def test_chromium_plays_what_the_product_serves(page):
    """Debian's chromium is built with the proprietary codecs: H.264 and AAC play headless."""
    page.goto("/login/")

    assert page.evaluate(f"document.createElement('video').canPlayType('{MP4_CODECS}')") == "probably"


def test_the_share_page_plays_its_video_and_carries_link_preview_tags(page, live_server, h264_aac_video):
    author = UserFactory(username="leo", password=None, display_name="Leo")
    owner = UserFactory(username="maya", password=None)
    generation = _with_media(
        GenerationFactory(
            requester=author,
            cameos=[CameoFactory(owner=owner, permission="everyone")],
            published_at=timezone.now(),
        ),
        h264_aac_video,
    )
    Post.objects.filter(pk=generation.pk).update(
        caption="Chess on the moon with @maya #moon", mentions=["maya"]
    )

    response = page.goto(f"/v/{generation.pk}")

    assert response.status == 200
    video = page.locator("video#player")
    page.wait_for_function("document.querySelector('video#player').readyState >= 2", timeout=15_000)
    screenshot(page, "share_page_loaded")
    page.evaluate(
        "(() => { const v = document.querySelector('video#player'); v.muted = true; return v.play(); })()"
    )
    page.wait_for_function("document.querySelector('video#player').currentTime > 0.5", timeout=15_000)
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [WIDTH, HEIGHT]
    assert video.evaluate("v => v.error") is None
    screenshot(page, "share_page_playing")

    def meta(key: str) -> str | None:
        return page.locator(f'meta[property="{key}"], meta[name="{key}"]').first.get_attribute("content")

    assert meta("og:type") == "video.other"
    assert meta("og:url") == f"{live_server.url}/v/{generation.pk}"
    assert meta("og:video").startswith(f"{live_server.url}/media-signed/")
    assert meta("og:video:type") == "video/mp4"
    assert meta("og:image").startswith(f"{live_server.url}/media-signed/")
    assert meta("twitter:card") == "summary_large_image"
    # What a link-preview crawler does with the tags: fetch them, with no cookies.
    assert page.context.request.get(meta("og:image")).body() == h264_aac_video[1]
    assert page.locator("[data-testid=caption] a").get_attribute("href") == "/u/maya"


def test_the_cameo_page_approves_a_request_and_takes_an_appearance_down(page, sign_in, h264_aac_video):
    maya = UserFactory(username="maya")
    zoe = UserFactory(username="zoe", password=None)
    cameo = CameoFactory(owner=maya, permission="approved")
    request = CameoAccessRequest.objects.create(cameo=cameo, requester=zoe, message="for my birthday video")
    video = _with_media(
        GenerationFactory(requester=zoe, cameos=[cameo], published_at=timezone.now()), h264_aac_video
    )
    assert page.goto(f"/v/{video.pk}").status == 200

    sign_in(page, "maya", PASSWORD, next_path="")  # no next page: LOGIN_REDIRECT_URL
    page.wait_for_url("**/me/cameo/")
    screenshot(page, "cameo_page")

    page.locator(f"[data-testid=request-{request.pk}] button", has_text="Approve").click()
    page.wait_for_selector("text=@zoe may now use @maya.")
    screenshot(page, "cameo_page_request_approved")
    assert CameoAccessRequest.objects.get(pk=request.pk).status == AccessRequestStatus.APPROVED
    assert page.locator(f"[data-testid=request-{request.pk}]").count() == 0

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"[data-testid=appearance-{video.pk}] button", has_text="Take down").click()
    page.wait_for_selector(f"text=Video {video.pk} is taken down")
    screenshot(page, "cameo_page_appearance_taken_down")
    video.refresh_from_db()
    assert video.removed_reason == "removed_by_cameo_owner"
    assert "taken down" in page.locator(f"[data-testid=appearance-{video.pk}]").inner_text()

    response = page.goto(f"/v/{video.pk}")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    assert page.locator("video").count() == 0
