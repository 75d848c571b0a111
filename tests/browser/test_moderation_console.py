"""The moderator console in a real browser (issue 13, item 8): a moderator signs in, claims a case about a
published public video that a user reported, and removes the video with a rule and a reason; the share page
then answers 404 and the feed no longer lists it; a second moderator, in a browser of their own, sees the
case claimed by the first. A screenshot of every step is kept as an artefact."""

import re

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from cameos.models import CameoPermission
from ml.media.encode import write_mp4
from moderation.services import report_create
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, CameoFactory, GenerationFactory, UserFactory, with_role

pytestmark = pytest.mark.django_db(transaction=True)


def _published_video(tmp_path):
    """Ava's published public video with Maya's cameo in it, stored as a real H.264 mp4 (a browser plays it)."""
    maya = UserFactory(username="maya")
    cameo = CameoFactory(owner=maya, permission=CameoPermission.EVERYONE, restricted_categories=["violence"])
    ava = UserFactory(username="ava")
    video = GenerationFactory(
        requester=ava, cameos=[cameo], prompt="@maya juggles oranges in the rain", published_at=timezone.now()
    )
    frames = [np.full((64, 64, 3), (40 * i) % 255, dtype=np.uint8) for i in range(8)]
    mp4 = write_mp4(tmp_path / "video.mp4", frames, fps=8)
    with mp4.open("rb") as file:
        video.video = default_storage.save(f"generations/{ava.pk}/{video.pk}/video.mp4", file)
    video.save(update_fields=["video"])
    return video


def _feed_ids(page) -> list[int]:
    response = page.request.get("/api/v1/feed/")
    assert response.status == 200, response.text()
    return [item["id"] for item in response.json()["results"]]


def test_a_moderator_removes_a_reported_video_and_a_second_moderator_sees_the_claim(
    page, browser, live_server, sign_in, tmp_path
):
    video = _published_video(tmp_path)
    case = report_create(
        reporter=UserFactory(username="rey"),
        target_type="video",
        target_id=str(video.pk),
        reason="harassment",
        text="Mocks Maya.",
    ).case
    with_role(UserFactory(username="mia"), "moderator")
    with_role(UserFactory(username="noah"), "moderator")

    # Before: the share page is up and the feed lists the video, so the 404 and the absence after mean something.
    assert page.request.get(f"/v/{video.pk}").status == 200

    # 1. Mia signs in through /login/ and lands on the queue.
    sign_in(page, "mia", PASSWORD, next_path="/moderation/")
    page.wait_for_url("**/moderation/")
    assert video.pk in _feed_ids(page)
    row = page.locator(f'[data-testid=queue-row][data-case-id="{case.pk}"]')
    assert "harassment" in row.inner_text() and "video" in row.inner_text()
    screenshot(page, "console-1-queue")

    # 2. She opens the case: the video plays, with its prompt, the cameo and its owner's restrictions, the report.
    row.locator("a").first.click()
    page.wait_for_url(f"**/moderation/cases/{case.pk}/")
    assert page.get_by_test_id("prompt").inner_text() == "@maya juggles oranges in the rain"
    assert "violence" in page.get_by_test_id("cameos").inner_text()
    assert "Mocks Maya." in page.get_by_test_id("reports").inner_text()
    player = page.get_by_test_id("video-player")
    ready = player.evaluate(
        "v => v.readyState >= 1 ? v.readyState : new Promise(done => {"
        " v.addEventListener('loadedmetadata', () => done(v.readyState));"
        " v.addEventListener('error', () => done(-1)); v.load(); })"
    )
    assert ready >= 1, "the moderator's signed link did not play"
    assert page.get_by_test_id("decide").is_disabled()  # not claimed yet
    screenshot(page, "console-2-case")

    # 3. She claims it.
    page.get_by_test_id("claim-button").click()
    page.wait_for_load_state()
    assert "Claimed by @mia (you)" in page.get_by_test_id("claim-status").inner_text()
    assert page.get_by_test_id("decide").is_enabled()
    screenshot(page, "console-3-claimed")

    # 4. Noah, in a browser of his own, sees who holds the case and until when, and cannot decide it.
    second = browser.new_context(base_url=live_server.url)
    try:
        noah = second.new_page()
        sign_in(noah, "noah", PASSWORD, next_path="/moderation/")
        noah.wait_for_url("**/moderation/")
        claimed_by = noah.locator(
            f'[data-testid=queue-row][data-case-id="{case.pk}"] [data-testid=claimed-by]'
        )
        assert re.fullmatch(r"@mia until \d\d:\d\d UTC", claimed_by.inner_text().strip())
        screenshot(noah, "console-4-second-moderator-queue")
        noah.goto(f"/moderation/cases/{case.pk}/")
        assert "Claimed by @mia until" in noah.get_by_test_id("claim-status").inner_text()
        assert noah.get_by_test_id("claim-button").count() == 0
        assert noah.get_by_test_id("decide").is_disabled()
        screenshot(noah, "console-5-second-moderator-case")
    finally:
        second.close()

    # 5. Mia removes the video with a rule and a reason.
    page.select_option("#id_action", "remove_content")
    page.fill("#id_rule", "harassment")
    page.fill("#id_reason", "The video mocks a real person.")
    page.check("#id_strike")
    screenshot(page, "console-6-decision-filled")
    page.get_by_test_id("decide").click()
    page.wait_for_load_state()
    assert "This case is decided." in page.get_by_test_id("claim").inner_text()
    assert "Remove Content" in page.get_by_test_id("history").inner_text()
    screenshot(page, "console-7-decided")

    # 6. The share page answers 404 and the feed no longer lists the video.
    assert page.request.get(f"/v/{video.pk}").status == 404
    assert video.pk not in _feed_ids(page)
    page.goto(f"/v/{video.pk}")
    screenshot(page, "console-8-share-page-after")
