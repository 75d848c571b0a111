"""Appeals: the affected user appeals a decision once; the appeal waits in the queue as its own item; a
moderator holding its claim upholds it (each effect and the strike undone) or denies it, with a reply the
user reads in GET /me/decisions/, never naming the moderator."""

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import User
from cameos.models import Cameo
from feed.models import Post
from generation.models import Generation
from moderation.appeals import appeal_decide, appeal_file, decisions_finalise_unappealed
from moderation.models import AuditEntry, Case, Decision
from moderation.services import flag_target
from tests.factories import PASSWORD, CameoFactory, GenerationFactory, UserFactory
from tests.openapi_validation import SchemaValidatingAPIClient

pytestmark = pytest.mark.django_db

CASES = "/api/v1/moderation/cases/"
SECRET = "NOTE-b51c: the appellant's cousin filed the report"


@pytest.fixture
def video(user):
    generation = GenerationFactory(requester=user, published_at=timezone.now())
    generation.video = default_storage.save(
        f"generations/{user.pk}/{generation.pk}/video.mp4", ContentFile(b"\0" * 64)
    )
    generation.save(update_fields=["video"])
    return generation


def _decide(client, case_id, **body):
    assert client.post(f"{CASES}{case_id}/claim/").status_code == 200
    response = client.post(f"{CASES}{case_id}/decision/", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _user_client(client_for, api_client, user):
    """The user's client: a plain access token, or (banned, suspended) the restricted token their
    refused sign-in hands them."""
    user.refresh_from_db()
    if user.banned_at is None and not user.is_suspended():
        return client_for(user)
    refused = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    api_client.credentials(HTTP_AUTHORIZATION=f"Restricted {refused.json()['extra']['restricted_token']}")
    return api_client


def _appeal(client, decision_id, text="I did not break that rule."):
    return client.post(f"/api/v1/decisions/{decision_id}/appeal/", {"text": text})


def _decide_appeal(client, appeal_case_id, outcome, reply):
    assert client.post(f"{CASES}{appeal_case_id}/claim/").status_code == 200
    return client.post(f"{CASES}{appeal_case_id}/appeal-decision/", {"outcome": outcome, "reply": reply})


def _signs_in(api_client, user) -> int:
    api_client.credentials()
    return api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}
    ).status_code


# (action, target, extra decision fields, check that the effect holds, check that it was undone)
def _video_gone(ctx):
    return ctx["viewer"].get(f"/api/v1/posts/{ctx['video'].pk}/").status_code == 404


def _video_back(ctx):
    viewer = ctx["viewer"]
    detail = viewer.get(f"/api/v1/generations/{ctx['video'].pk}/")
    return (
        viewer.get(f"/api/v1/posts/{ctx['video'].pk}/").status_code == 200
        and ctx["video"].pk in [p["id"] for p in viewer.get("/api/v1/feed/").json()["results"]]
        and viewer.get(detail.json()["video_url"]).status_code == 200
    )


def _hidden_from_minor(ctx):
    minor = ctx["minor"]
    return (
        minor.get(f"/api/v1/posts/{ctx['video'].pk}/").status_code == 404
        and minor.get(f"/api/v1/generations/{ctx['video'].pk}/").status_code == 404
    )


def _shown_to_minor(ctx):
    return ctx["minor"].get(f"/api/v1/posts/{ctx['video'].pk}/").status_code == 200


EFFECTS = {
    "remove_content": ("video", {}, _video_gone, _video_back),
    "age_restrict": ("video", {}, _hidden_from_minor, _shown_to_minor),
    "suspend": (
        "account",
        {"suspend_days": 7},
        lambda ctx: _signs_in(ctx["anonymous"], ctx["user"]) == 401 and _video_gone(ctx),
        lambda ctx: _signs_in(ctx["anonymous"], ctx["user"]) == 200 and _video_back(ctx),
    ),
    "ban": (
        "account",
        {},
        lambda ctx: _signs_in(ctx["anonymous"], ctx["user"]) == 401 and _video_gone(ctx),
        lambda ctx: _signs_in(ctx["anonymous"], ctx["user"]) == 200 and _video_back(ctx),
    ),
    "reject_cameo": (
        "cameo",
        {},
        lambda ctx: Cameo.objects.get(pk=ctx["cameo"].pk).status == "rejected",
        lambda ctx: Cameo.objects.get(pk=ctx["cameo"].pk).status == "verified",
    ),
    "warn": ("account", {}, lambda ctx: True, lambda ctx: True),
}


@pytest.mark.parametrize("action", sorted(EFFECTS))
def test_an_upheld_appeal_reverses_the_effect_and_the_strike_and_carries_the_reply(
    action, client_for, api_client, user, other_user, moderator, second_moderator, video,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    target_kind, extra, holds, undone = EFFECTS[action]
    cameo = CameoFactory(owner=user, status="needs_review", rejection_reason="likeness_match")
    target = {"video": video, "account": user, "cameo": cameo}[target_kind]
    case = flag_target(target=target, source="output_check", reason="x", priority=10).case
    minor = UserFactory(username="teen", password=None, birth_date=date(timezone.now().year - 15, 1, 1))
    ctx = {"user": user, "video": video, "cameo": cameo, "viewer": client_for(other_user),
           "minor": client_for(minor), "anonymous": api_client}  # fmt: skip
    mod = client_for(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        decision_id = _decide(mod, case.pk, action=action, rule="rule 4", reason="Because.", strike=True, **extra)
    assert holds(ctx)
    assert mod.get(f"{CASES}{case.pk}/").json()["subject_strikes"] == 1

    # The user appeals (a banned or suspended one through the restricted token of their refused sign-in).
    mine = _user_client(client_for, SchemaValidatingAPIClient(), user)
    listed = mine.get("/api/v1/me/decisions/").json()["results"]
    assert [(d["id"], d["action"], d["automatic"], d["appeal_status"]) for d in listed] == [
        (decision_id, action, False, None)
    ]
    assert listed[0]["appealable_until"] is not None
    filed = _appeal(mine, decision_id)
    assert filed.status_code == 201, filed.content
    assert filed.json()["status"] == "pending"

    # It waits in the one queue as its own item, claimable, with private notes.
    [row] = mod.get(f"{CASES}?kind=appeal").json()["results"]
    assert (row["kind"], row["appealed_decision_id"], row["appealed_case_id"]) == ("appeal", decision_id, case.pk)
    assert row["appeal_id"] == filed.json()["id"]
    assert mod.post(f"{CASES}{row['id']}/notes/", {"text": SECRET}).status_code == 201
    assert client_for(second_moderator).post(f"{CASES}{row['id']}/claim/").status_code == 200
    taken = mod.post(f"{CASES}{row['id']}/claim/")
    assert (taken.status_code, taken.json()["code"]) == (409, "case_claimed")
    client_for(second_moderator).delete(f"{CASES}{row['id']}/claim/")

    with django_capture_on_commit_callbacks(execute=True):
        decided = _decide_appeal(mod, row["id"], "upheld", "You were right, sorry.")

    assert decided.status_code == 200, decided.content
    assert undone(ctx)
    assert Decision.objects.get(pk=decision_id).reversed_at is not None
    assert mod.get(f"{CASES}{case.pk}/").json()["subject_strikes"] == 0
    mine = client_for(User.objects.get(pk=user.pk))
    [seen] = mine.get("/api/v1/me/decisions/").json()["results"]
    assert (seen["appeal_status"], seen["appeal_reply"], seen["appealable_until"]) == (
        "upheld",
        "You were right, sorry.",
        None,
    )
    assert seen["reversed_at"] is not None
    assert SECRET not in str(seen) and moderator.username not in str(seen)
    history = mod.get(f"{CASES}{case.pk}/").json()
    [appeal] = history["decisions"][0]["appeals"]
    assert (appeal["status"], appeal["reply"], appeal["decided_by"]) == ("upheld", "You were right, sorry.", "mod")
    item = mod.get(f"{CASES}{row['id']}/").json()
    assert item["appeal"][0]["decision"]["id"] == decision_id
    assert [n["text"] for n in item["notes"]] == [SECRET]
    assert [c["id"] for c in item["earlier_cases_on_target"]] == [case.pk]
    audited = list(
        AuditEntry.objects.filter(case_id__in=[case.pk, row["id"]]).order_by("id").values_list("action", flat=True)
    )
    assert audited[-7:] == ["appeal.filed", "note.added", "case.claimed", "case.released", "case.claimed",
                            "decision.reversed", "appeal.decided"]  # fmt: skip
    reversal = AuditEntry.objects.get(action="decision.reversed")
    assert (reversal.case_id, reversal.details["strike_removed"]) == (case.pk, True)


def test_a_denied_appeal_keeps_the_decision_and_deletes_the_kept_media(
    client_for, user, other_user, moderator, video, django_capture_on_commit_callbacks
):
    case = flag_target(target=video, source="output_check", reason="x").case
    mod = client_for(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        decision_id = _decide(mod, case.pk, action="remove_content", rule="violence", strike=True)
    stored = Generation.objects.get(pk=video.pk).video.name
    assert default_storage.exists(stored)  # kept for an appeal, played by nobody
    _appeal(client_for(user), decision_id)
    appeal_case = Case.objects.get(kind="appeal")

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide_appeal(mod, appeal_case.pk, "denied", "The video shows gore.")

    assert response.json()["status"] == "denied"
    assert not default_storage.exists(stored)
    assert Generation.objects.get(pk=video.pk).removed_at is not None
    [seen] = client_for(user).get("/api/v1/me/decisions/").json()["results"]
    assert (seen["appeal_status"], seen["appeal_reply"], seen["reversed_at"]) == (
        "denied",
        "The video shows gore.",
        None,
    )
    assert mod.get(f"{CASES}{case.pk}/").json()["subject_strikes"] == 1
    # The user hears the outcome and the reply in their notifications, never who decided.
    [notice] = [
        n for n in client_for(user).get("/api/v1/notifications/").json()["results"] if n["kind"] == "appeal_decided"
    ]
    assert (notice["decision_id"], notice["outcome"], notice["reply"], notice["actor"]) == (
        decision_id, "denied", "The video shows gore.", None
    )
    assert notice["text"] == "Your appeal was reviewed and the decision stands"
    assert moderator.username not in str(notice)


def test_unappealed_removals_lose_their_media_when_the_window_closes(
    client_for, moderator, video, settings, django_capture_on_commit_callbacks
):
    case = flag_target(target=video, source="output_check", reason="x").case
    with django_capture_on_commit_callbacks(execute=True):
        decision_id = _decide(client_for(moderator), case.pk, action="remove_content", rule="violence")
    stored = Generation.objects.get(pk=video.pk).video.name

    with django_capture_on_commit_callbacks(execute=True):
        assert decisions_finalise_unappealed() == 0
    Decision.objects.filter(pk=decision_id).update(created_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert decisions_finalise_unappealed() == 1

    assert not default_storage.exists(stored)
    assert decisions_finalise_unappealed() == 0


def test_a_decision_is_appealed_once(client_for, user, moderator, video):
    case = flag_target(target=video, source="output_check", reason="x").case
    decision_id = _decide(client_for(moderator), case.pk, action="warn", rule="spam")
    mine = client_for(user)
    first = _appeal(mine, decision_id)

    second = _appeal(mine, decision_id, "Again.")

    assert first.status_code == 201
    assert (second.status_code, second.json()["code"]) == (409, "appeal_already_filed")
    assert second.json()["extra"]["appeal_id"] == first.json()["id"]
    assert Case.objects.filter(kind="appeal").count() == 1


def test_dismissals_other_peoples_and_late_appeals_are_refused(client_for, user, other_user, moderator, video):
    mod = client_for(moderator)
    dismissed = _decide(mod, flag_target(target=video, source="output_check", reason="x").case.pk, action="dismiss")
    warned = _decide(mod, flag_target(target=video, source="output_check", reason="y").case.pk, action="warn",
                     rule="spam")  # fmt: skip
    mine = client_for(user)

    refused = _appeal(mine, dismissed)
    stranger = _appeal(client_for(other_user), warned)
    Decision.objects.filter(pk=warned).update(created_at=timezone.now() - timedelta(days=31))
    late = _appeal(mine, warned)

    assert (refused.status_code, refused.json()["code"]) == (409, "appeal_not_allowed")
    assert (stranger.status_code, stranger.json()["code"]) == (404, "decision_not_found")
    assert (late.status_code, late.json()["code"]) == (409, "appeal_window_closed")
    assert _appeal(mine, 999999).status_code == 404
    assert [d["id"] for d in mine.get("/api/v1/me/decisions/").json()["results"]] == [warned]
    assert client_for(other_user).get("/api/v1/me/decisions/").json()["results"] == []


def test_an_automatic_decision_is_appealed_too(client_for, user, moderator, video):
    case = flag_target(target=video, source="output_check", reason="policy_blocked_category").case
    automatic = Decision.objects.create(case=case, moderator=None, action="remove_content", rule="policy")

    [seen] = client_for(user).get("/api/v1/me/decisions/").json()["results"]
    filed = _appeal(client_for(user), automatic.pk)

    assert seen["automatic"] is True
    assert filed.status_code == 201


def test_an_appeal_is_decided_at_its_own_route_only(client_for, user, moderator, video):
    case = flag_target(target=video, source="output_check", reason="x").case
    mod = client_for(moderator)
    decision_id = _decide(mod, case.pk, action="warn", rule="spam")
    _appeal(client_for(user), decision_id)
    appeal_case = Case.objects.get(kind="appeal")
    mod.post(f"{CASES}{appeal_case.pk}/claim/")
    review = flag_target(target=video, source="output_check", reason="z").case
    mod.post(f"{CASES}{review.pk}/claim/")

    wrong_route = mod.post(f"{CASES}{appeal_case.pk}/decision/", {"action": "dismiss"})
    not_an_appeal = mod.post(f"{CASES}{review.pk}/appeal-decision/", {"outcome": "upheld", "reply": "x"})
    no_reply = mod.post(f"{CASES}{appeal_case.pk}/appeal-decision/", {"outcome": "upheld"})

    assert (wrong_route.status_code, wrong_route.json()["code"]) == (400, "decision_not_applicable")
    assert (not_an_appeal.status_code, not_an_appeal.json()["code"]) == (400, "decision_not_applicable")
    assert no_reply.status_code == 400
    assert Case.objects.get(pk=appeal_case.pk).status == "claimed"


def test_reversing_one_suspension_keeps_a_later_one(client_for, user, moderator, django_capture_on_commit_callbacks):
    mod = client_for(moderator)
    first = _decide(mod, flag_target(target=user, source="output_check", reason="x").case.pk, action="suspend",
                    rule="spam", suspend_days=3)  # fmt: skip
    _decide(mod, flag_target(target=user, source="output_check", reason="y").case.pk, action="suspend",
            rule="spam", suspend_days=10)  # fmt: skip
    later_until = User.objects.get(pk=user.pk).suspended_until

    appeal = appeal_file(appellant=user, decision_id=first, text="x")
    mod.post(f"{CASES}{appeal.case_id}/claim/")
    appeal_decide(moderator=moderator, case_id=appeal.case_id, outcome="upheld", reply="ok")

    assert User.objects.get(pk=user.pk).suspended_until == later_until


def test_an_age_restriction_holds_on_media_urls_and_video_detail(client_for, user, moderator, video):
    adult_viewer = client_for(UserFactory(username="adult", password=None))
    teen = client_for(UserFactory(username="teen", password=None, birth_date=date(timezone.now().year - 15, 1, 1)))
    media_url = teen.get(f"/api/v1/generations/{video.pk}/").json()["video_url"]
    case = flag_target(target=video, source="output_check", reason="x").case

    _decide(client_for(moderator), case.pk, action="age_restrict", rule="sexual content")

    assert Post.objects.get(pk=video.pk).adults_only is True
    assert teen.get(media_url).status_code == 404
    assert teen.get(f"/api/v1/generations/{video.pk}/").status_code == 404
    assert teen.get("/api/v1/feed/").json()["results"] == []
    assert adult_viewer.get(f"/api/v1/generations/{video.pk}/").status_code == 200
    assert client_for(user).get(f"/api/v1/generations/{video.pk}/").status_code == 200
