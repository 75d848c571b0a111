"""The moderator console's pages (moderation/console/views.py) through Django's test client, signed in with
a session as a browser is: what each page shows, and that its forms act through the moderation services
(the browser journey itself: tests/browser/test_moderation_console.py)."""

import re
from datetime import UTC, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cameos.models import CameoPermission
from moderation.appeals import appeal_file
from moderation.models import AuditEntry, Case, CaseStatus, Decision
from moderation.services import case_claim, case_decide, case_note_add, flag_target, report_create
from tests.factories import CameoFactory, GenerationFactory, UserFactory, with_role

pytestmark = pytest.mark.django_db

QUEUE = "/moderation/"


def _case_url(case, action=""):
    return f"/moderation/cases/{case.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def browser_of():
    """A test client signed in with a session, as a browser after /login/."""

    def browser_of(user):
        client = Client()
        client.force_login(user)
        return client

    return browser_of


@pytest.fixture
def video(db):
    """Ava's published video with Maya's cameo in it (Maya rules out violence and the word "ketchup"),
    stored with its media."""
    maya = UserFactory(username="maya", password=None)
    cameo = CameoFactory(
        owner=maya,
        permission=CameoPermission.EVERYONE,
        restricted_categories=["violence"],
        forbidden_words=["ketchup"],
    )
    ava = UserFactory(username="ava", password=None)
    generation = GenerationFactory(
        requester=ava, cameos=[cameo], prompt="@maya juggles oranges", published_at=timezone.now()
    )
    generation.video = default_storage.save(
        f"generations/{ava.pk}/{generation.pk}/video.mp4", ContentFile(b"\x00" * 64)
    )
    generation.save(update_fields=["video"])
    return generation


@pytest.fixture
def reported(video):
    reporter = UserFactory(username="rey", password=None)
    report = report_create(
        reporter=reporter, target_type="video", target_id=str(video.pk), reason="harassment", text="mean"
    )
    return report.case


def _rows(html: str) -> list[int]:
    return [int(case_id) for case_id in re.findall(r'data-testid="queue-row" data-case-id="(\d+)"', html)]


# -- the queue --------------------------------------------------------------------------------------------


def test_the_queue_lists_cases_in_the_apis_order_with_what_a_row_needs(browser_of, moderator, reported):
    spam = report_create(
        reporter=UserFactory(password=None),
        target_type="video",
        target_id=str(GenerationFactory(published_at=timezone.now()).pk),
        reason="spam",
    ).case
    minor = report_create(
        reporter=UserFactory(password=None),
        target_type="video",
        target_id=str(GenerationFactory(published_at=timezone.now()).pk),
        reason="minor_safety",
    ).case

    response = browser_of(moderator).get(QUEUE)

    html = response.content.decode()
    assert response.status_code == 200
    assert _rows(html) == [minor.pk, reported.pk, spam.pk]
    api = browser_of(moderator).get("/api/v1/moderation/cases/").json()["results"]
    assert _rows(html) == [case["id"] for case in api]
    row = html[html.index(f'data-case-id="{reported.pk}"') :].split("</tr>")[0]
    assert "video" in row and "harassment" in row and "@ava" in row


def test_a_second_moderator_sees_who_holds_a_case_and_until_when(browser_of, moderator, reported, make_user):
    other = with_role(make_user(username="mod2", password=None), "moderator")
    case_claim(moderator=moderator, case_id=reported.pk)

    html = browser_of(other).get(QUEUE).content.decode()
    page = browser_of(other).get(_case_url(reported)).content.decode()

    reported.refresh_from_db()
    until = reported.claim_expires_at.astimezone(UTC).strftime("%H:%M")
    assert f"@mod until {until} UTC" in html
    assert "Claimed by <strong>@mod</strong> until" in page
    assert 'data-testid="claim-button"' not in page
    assert re.search(r"<fieldset\s+disabled", page)


def test_the_queue_filters_as_the_api_does(browser_of, moderator, second_moderator, reported):
    automatic = flag_target(target=GenerationFactory(), source="output_check", reason="gore").case
    case_claim(moderator=moderator, case_id=reported.pk)
    client = browser_of(moderator)

    assert _rows(client.get(QUEUE + "?status=mine").content.decode()) == [reported.pk]
    assert _rows(browser_of(second_moderator).get(QUEUE + "?status=mine").content.decode()) == []
    assert _rows(client.get(QUEUE + "?status=open").content.decode()) == [automatic.pk]
    assert _rows(client.get(QUEUE + "?source=output_check").content.decode()) == [automatic.pk]
    assert _rows(client.get(QUEUE + "?reason=harassment").content.decode()) == [reported.pk]


@pytest.mark.parametrize("query", ["?status=pending", "?source=gossip", "?cursor=forged", "?page_size=0"])
def test_a_bad_filter_or_cursor_is_a_400_page_with_the_reason(browser_of, moderator, query):
    response = browser_of(moderator).get(QUEUE + query)

    assert response.status_code == 400
    assert 'data-testid="queue-error"' in response.content.decode()


def test_the_queue_pages_by_the_apis_cursor(browser_of, moderator):
    for index in range(5):
        flag_target(target=GenerationFactory(), source="output_check", reason="x", priority=index)
    client = browser_of(moderator)

    seen, link = [], QUEUE + "?page_size=2"
    while link:
        html = client.get(link).content.decode()
        seen += _rows(html)
        found = re.search(r'href="([^"]+)" rel="next"', html)
        link = found.group(1).replace("&amp;", "&") if found else None

    assert seen == list(Case.objects.order_by("queue_key", "id").values_list("id", flat=True))


def test_a_queue_page_costs_the_same_queries_whatever_its_size(browser_of, moderator, second_moderator):
    for index in range(7):
        target = UserFactory(username=f"target{index}", password=None) if index % 2 else GenerationFactory()
        case = flag_target(target=target, source="output_check", reason="x", priority=index).case
        if index % 3 == 0:
            case_claim(moderator=second_moderator, case_id=case.pk)
    client = browser_of(moderator)
    client.get(QUEUE)  # the session and the permission cache warm up alike for both pages

    with CaptureQueriesContext(connection) as small:
        assert len(_rows(client.get(QUEUE + "?page_size=2").content.decode())) == 2
    with CaptureQueriesContext(connection) as large:
        assert len(_rows(client.get(QUEUE + "?page_size=7").content.decode())) == 7

    assert len(small) == len(large)


# -- the case page ----------------------------------------------------------------------------------------


def test_the_case_page_shows_the_video_its_prompt_cameos_reports_flags_and_history(
    browser_of, moderator, reported, video
):
    earlier = flag_target(target=video.requester, source="output_check", reason="spam_burst").case
    Case.objects.filter(pk=earlier.pk).update(status=CaseStatus.RESOLVED)
    Decision.objects.create(case=earlier, action="warn", rule="spam", strike=True)
    client = browser_of(moderator)

    html = client.get(_case_url(reported)).content.decode()

    assert "@maya juggles oranges" in html  # the prompt
    assert "Not in: violence." in html and "ketchup" in html  # the cameo owner's restrictions
    assert "@maya" in html and "Everyone" in html
    assert "@rey" in html and "mean" in html  # the report and its text
    assert "&quot;report_id&quot;" in html  # the flag's evidence
    assert f"#{earlier.pk}" in html and "<strong>strike</strong>" in html  # a case about the same user
    src = re.search(r'<video src="([^"]+)"', html).group(1)
    assert client.get(src.removeprefix("http://testserver")).status_code == 200


def test_a_held_cameo_and_an_account_have_their_case_pages(browser_of, moderator):
    owner = UserFactory(username="lena", password=None)
    cameo = CameoFactory(owner=owner, status="needs_review", forbidden_words=["clown"])
    held = flag_target(
        target=cameo, source="likeness_match", reason="likeness_match", evidence={"distance": 0.41}
    )
    account = report_create(
        reporter=UserFactory(password=None), target_type="account", target_id="lena", reason="impersonation"
    ).case
    gone = flag_target(target=GenerationFactory(), source="output_check", reason="x").case
    Case.objects.filter(pk=gone.pk).update(target_id=999999)
    client = browser_of(moderator)

    cameo_page = client.get(_case_url(held.case)).content.decode()
    account_page = client.get(_case_url(account)).content.decode()
    gone_page = client.get(_case_url(gone))

    assert "Forbidden words: clown." in cameo_page and "needs_review" in cameo_page
    assert "&quot;distance&quot;: 0.41" in cameo_page
    assert "@lena (Lena)" in account_page
    assert gone_page.status_code == 200 and "no longer exists" in gone_page.content.decode()


def test_a_held_video_plays_for_moderators_only(browser_of, moderator, video, make_user):
    video.published_at = None
    video.status = "needs_review"
    video.save(update_fields=["published_at", "status"])
    case = flag_target(target=video, source="output_check", reason="owner_restriction").case
    staff = make_user(username="staff", password=None, is_staff=True)

    src = re.search(r'<video src="([^"]+)"', browser_of(moderator).get(_case_url(case)).content.decode())
    path = src.group(1).removeprefix("http://testserver")

    assert Client().get(path).status_code == 200  # the link carries the moderator it was handed to
    moderator.groups.clear()
    assert Client().get(path).status_code == 404  # and is asked again at every request
    assert browser_of(staff).get(_case_url(case)).status_code == 403


def test_a_claimed_case_is_decided_from_the_page(browser_of, moderator, reported, video):
    client = browser_of(moderator)

    claimed = client.post(_case_url(reported, "claim"))
    page = client.get(_case_url(reported)).content.decode()
    decided = client.post(
        _case_url(reported, "decision"),
        {"action": "remove_content", "rule": "harassment", "reason": "Mocks a real person", "strike": "on"},
    )

    assert claimed.status_code == 302
    assert "(you)" in page and not re.search(r"<fieldset\s+disabled", page)
    assert decided.status_code == 302
    video.refresh_from_db()
    reported.refresh_from_db()
    assert video.removed_at is not None
    assert reported.status == CaseStatus.RESOLVED
    decision = reported.decisions.get()
    assert (decision.moderator, decision.rule, decision.strike) == (moderator, "harassment", True)
    assert "This case is decided." in client.get(_case_url(reported)).content.decode()


def test_a_refused_decision_comes_back_with_the_services_reason(
    browser_of, moderator, second_moderator, reported
):
    case_claim(moderator=moderator, case_id=reported.pk)

    not_mine = browser_of(second_moderator).post(_case_url(reported, "decision"), {"action": "dismiss"})
    no_rule = browser_of(moderator).post(_case_url(reported, "decision"), {"action": "warn"})
    not_an_action = browser_of(moderator).post(
        _case_url(reported, "decision"), {"action": "delete_everything"}
    )
    taken = browser_of(second_moderator).post(_case_url(reported, "claim"))

    assert not_mine.status_code == 409 and "Claim case" in not_mine.content.decode()
    assert no_rule.status_code == 400 and "needs the rule" in no_rule.content.decode()
    assert 'value="warn" selected' in no_rule.content.decode()  # what was typed stays
    assert not_an_action.status_code == 400
    assert taken.status_code == 409 and "claimed by another moderator" in taken.content.decode()
    reported.refresh_from_db()
    assert (reported.status, reported.claimed_by) == (CaseStatus.CLAIMED, moderator)


def test_releasing_gives_the_case_back(browser_of, moderator, reported):
    client = browser_of(moderator)
    client.post(_case_url(reported, "claim"))

    response = client.post(_case_url(reported, "release"))

    reported.refresh_from_db()
    assert response.status_code == 302
    assert (reported.status, reported.claimed_by) == (CaseStatus.OPEN, None)
    assert client.post(_case_url(reported, "release")).status_code == 409


def test_private_notes_are_shown_here_and_in_no_user_facing_response(
    browser_of, client_for, moderator, reported
):
    secret = "Reporter seems to be a sock puppet of @ava"

    added = browser_of(moderator).post(_case_url(reported, "notes"), {"text": secret})
    empty = browser_of(moderator).post(_case_url(reported, "notes"), {"text": ""})

    assert added.status_code == 302
    assert empty.status_code == 400
    assert secret in browser_of(moderator).get(_case_url(reported)).content.decode()
    report = reported.reports.get()
    for user, path in [
        (report.reporter, "/api/v1/reports/"),
        (reported.subject, f"/api/v1/generations/{reported.target_id}/"),
        (reported.subject, "/api/v1/feed/"),
    ]:
        assert secret not in client_for(user).get(path).content.decode(), path


# -- appeals ---------------------------------------------------------------------------------------------


@pytest.fixture
def appealed(moderator, reported, django_capture_on_commit_callbacks):
    """Ava's video taken down with a strike by @mod, and Ava's appeal of that decision, waiting in the queue."""
    case_claim(moderator=moderator, case_id=reported.pk)
    with django_capture_on_commit_callbacks(execute=True):
        decision = case_decide(
            moderator=moderator,
            case_id=reported.pk,
            action="remove_content",
            rule="harassment",
            reason="Mocks a real person",
            strike=True,
        )
    return appeal_file(
        appellant=reported.subject, decision_id=decision.pk, text="It is a parody, not mockery."
    )


def _feed_ids(client) -> list[int]:
    return [post["id"] for post in client.get("/api/v1/feed/").json()["results"]]


def test_an_appeals_page_shows_the_appeal_the_decision_appealed_and_the_notes(
    browser_of, moderator, second_moderator, appealed
):
    case_note_add(moderator=second_moderator, case_id=appealed.case_id, text="Ava has two earlier warnings")

    response = browser_of(moderator).get(_case_url(appealed.case))

    html = response.content.decode()
    assert response.status_code == 200
    appeal = html[html.index('data-testid="appeal"') : html.index('data-testid="appealed-decision"')]
    assert "It is a parody, not mockery." in appeal and "@ava" in appeal and ">pending<" in appeal
    decision = html[html.index('data-testid="appealed-decision"') : html.index('data-testid="video"')]
    assert "Remove Content" in decision and "harassment" in decision and "Mocks a real person" in decision
    assert "<dt>Strike</dt><dd>yes</dd>" in decision and "by @mod" in decision  # moderators see who decided
    link = f'href="{_case_url(appealed.decision.case)}" data-testid="appealed-case"'
    assert link in decision
    assert "Ava has two earlier warnings" in html and 'data-testid="claim-button"' in html
    assert 'data-testid="decide-appeal"' in html and 'data-testid="decide"' not in html  # no review form
    assert re.search(r"<fieldset\s+disabled", html)  # unclaimed: nothing to decide yet


def test_only_the_claimant_upholds_an_appeal_which_reverses_the_decision_and_replies(
    browser_of,
    client_for,
    moderator,
    second_moderator,
    appealed,
    make_user,
    django_capture_on_commit_callbacks,
):
    video, viewer = appealed.decision.case.target, client_for(make_user(username="viewer", password=None))
    assert video.pk not in _feed_ids(viewer)
    client = browser_of(moderator)
    upheld = {"outcome": "upheld", "reply": "Fair point: it is a parody."}

    unclaimed = client.post(_case_url(appealed.case, "appeal-decision"), upheld)
    client.post(_case_url(appealed.case, "claim"))
    not_mine = browser_of(second_moderator).post(_case_url(appealed.case, "appeal-decision"), upheld)
    no_reply = client.post(_case_url(appealed.case, "appeal-decision"), {"outcome": "upheld", "reply": " "})
    a_review_action = client.post(_case_url(appealed.case, "decision"), {"action": "dismiss"})
    with django_capture_on_commit_callbacks(execute=True):
        decided = client.post(_case_url(appealed.case, "appeal-decision"), upheld)

    assert unclaimed.status_code == 409 and "Claim case" in unclaimed.content.decode()
    assert not_mine.status_code == 409
    assert no_reply.status_code == 400 and 'value="upheld"' in no_reply.content.decode()
    assert a_review_action.status_code == 400 and "appeal-decision route" in a_review_action.content.decode()
    assert decided.status_code == 302 and decided["Location"] == _case_url(appealed.case)
    appealed.refresh_from_db()
    assert (appealed.status, appealed.decided_by) == ("upheld", moderator)
    assert video.pk in _feed_ids(viewer)  # the removed video is back
    [mine] = client_for(appealed.appellant).get("/api/v1/me/decisions/").json()["results"]
    assert (mine["appeal_status"], mine["appeal_reply"]) == ("upheld", "Fair point: it is a parody.")
    assert mine["reversed_at"] is not None and "mod" not in str(mine)
    page = client.get(_case_url(appealed.case)).content.decode()
    assert "This case is decided." in page and "Fair point: it is a parody." in page
    assert client.post(_case_url(appealed.case, "appeal-decision"), upheld).status_code == 409


def test_a_denied_appeal_keeps_the_decision(browser_of, client_for, moderator, appealed, make_user):
    video, viewer = appealed.decision.case.target, client_for(make_user(username="viewer", password=None))
    client = browser_of(moderator)
    client.post(_case_url(appealed.case, "claim"))

    decided = client.post(
        _case_url(appealed.case, "appeal-decision"), {"outcome": "denied", "reply": "The rule applies."}
    )

    assert decided.status_code == 302
    appealed.decision.refresh_from_db()
    assert appealed.decision.reversed_at is None
    assert video.pk not in _feed_ids(viewer)
    [mine] = client_for(appealed.appellant).get("/api/v1/me/decisions/").json()["results"]
    assert (mine["appeal_status"], mine["appeal_reply"]) == ("denied", "The rule applies.")


def test_the_queue_filters_by_kind_and_labels_appeals(browser_of, moderator, appealed):
    review = flag_target(target=GenerationFactory(), source="output_check", reason="gore").case
    client = browser_of(moderator)

    html = client.get(QUEUE).content.decode()
    appeals_only = client.get(QUEUE + "?kind=appeal").content.decode()
    bad = client.get(QUEUE + "?kind=complaint")

    assert set(_rows(html)) == {appealed.case_id, review.pk}
    assert _rows(appeals_only) == [appealed.case_id]
    assert _rows(client.get(QUEUE + "?kind=review").content.decode()) == [review.pk]
    row = html[html.index(f'data-case-id="{appealed.case_id}"') :].split("</tr>")[0]
    assert 'data-testid="appeal-label"' in row and "appeal of remove content" in row
    other = html[html.index(f'data-case-id="{review.pk}"') :].split("</tr>")[0]
    assert 'data-testid="appeal-label"' not in other
    assert '<option value="appeal" selected>' in appeals_only
    assert bad.status_code == 400 and 'data-testid="queue-error"' in bad.content.decode()


def test_the_appeal_form_needs_the_csrf_token(moderator, appealed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    client.get(_case_url(appealed.case))  # the page sets the CSRF cookie its forms carry
    token = client.cookies["csrftoken"].value
    client.post(_case_url(appealed.case, "claim"), {"csrfmiddlewaretoken": token})
    body = {"outcome": "denied", "reply": "The rule applies."}

    refused = client.post(_case_url(appealed.case, "appeal-decision"), body)
    appealed.refresh_from_db()
    assert (refused.status_code, appealed.status) == (403, "pending")
    accepted = client.post(
        _case_url(appealed.case, "appeal-decision"), {**body, "csrfmiddlewaretoken": token}
    )

    appealed.refresh_from_db()
    assert (accepted.status_code, appealed.status) == (302, "denied")


# -- the audit log ----------------------------------------------------------------------------------------


@pytest.fixture
def admin(db):
    return with_role(UserFactory(username="boss", password=None), "admin")


def test_the_audit_log_filters_and_links_to_its_export(browser_of, admin, moderator, reported):
    case_claim(moderator=moderator, case_id=reported.pk)
    case_note_add(moderator=moderator, case_id=reported.pk, text="n")
    flag_target(target=GenerationFactory(), source="output_check", reason="gore")
    client = browser_of(admin)
    today = timezone.now().date()

    def actions(query):
        html = client.get("/moderation/audit/" + query).content.decode()
        return re.findall(
            r'<tr data-testid="audit-row">.*?<td>[^<]*</td>\s*<td>.*?</td>\s*<td>([a-z.]+)</td>', html, re.S
        )

    assert actions("") == ["flag.raised", "note.added", "case.claimed"]
    assert actions("?actor=mod") == ["note.added", "case.claimed"]
    assert actions("?actor=automatic") == ["flag.raised"]
    assert actions("?action=case.claimed") == ["case.claimed"]
    assert actions(f"?target_type=video&target_id={reported.target_id}") == ["note.added", "case.claimed"]
    assert actions(f"?since={today}&until={today}") == ["flag.raised", "note.added", "case.claimed"]
    assert actions(f"?until={today - timedelta(days=1)}") == []
    bad = client.get("/moderation/audit/?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()
    html = client.get("/moderation/audit/?actor=mod&action=").content.decode()
    export = re.search(r'href="([^"]+)" data-testid="export-jsonl"', html).group(1).replace("&amp;", "&")
    assert export == reverse("moderation-audit-export") + "?actor=mod"
    lines = b"".join(client.get(export).streaming_content).decode().splitlines()
    assert len(lines) == AuditEntry.objects.filter(actor_username="mod").count() == 2
    csv_export = re.search(r'href="([^"]+)" data-testid="export-csv"', html).group(1).replace("&amp;", "&")
    assert csv_export == reverse("moderation-audit-export") + "?actor=mod&format=csv"
    rows = b"".join(client.get(csv_export).streaming_content).decode().splitlines()
    assert len(rows) == 1 + 2 and rows[0].startswith("id,")  # a header, then the two entries
