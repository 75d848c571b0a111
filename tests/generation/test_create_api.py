"""Starting a video: every check before any compute, each with its own code, in the documented order."""

import pytest
from django.test import override_settings

from accounts.models import Block, Follow
from cameos.models import CameoAccessRequest, ProtectedLikeness
from generation.models import Generation, GenerationStatus
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/generations/"


@pytest.fixture
def maya(make_user):
    return make_user(username="maya")


@pytest.fixture
def leo(make_user):
    return make_user(username="leo")


@pytest.fixture
def maya_cameo(maya):
    return CameoFactory(owner=maya, permission="everyone")


def post(client, prompt, **extra):
    return client.post(URL, {"prompt": prompt, **extra}, format="json")


def test_anonymous_cannot_start_a_video(api_client, maya_cameo):
    response = post(api_client, "@maya plays chess on the moon")
    assert response.status_code == 401
    assert not Generation.objects.exists()


def test_a_permitted_prompt_becomes_a_queued_job_with_its_cameos(
    client_for, leo, maya_cameo, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client_for(leo), "@maya plays chess on the moon")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued"
    assert body["requester"] == "leo"
    assert body["cameos"] == [{"mention": "@maya", "owner": "maya"}]
    assert body["spec"]["mentions"] == ["maya"]
    assert body["video_url"] is None
    generation = Generation.objects.get()
    assert list(generation.cameo_uses.values_list("cameo_id", flat=True)) == [maya_cameo.pk]
    assert len(callbacks) == 1  # the render is enqueued once the row is committed


def test_each_job_gets_a_fresh_seed_unless_the_prompt_fixes_one(client_for, leo, maya_cameo):
    client = client_for(leo)
    seeds = {post(client, "a calm lake at dawn").json()["spec"]["seed"] for _ in range(2)}
    assert len(seeds) == 2
    Generation.objects.all().delete()
    assert post(client, "a calm lake at dawn\nseed: 42").json()["spec"]["seed"] == 42


def test_prompt_errors_name_the_line(client_for, leo):
    response = post(client_for(leo), "a lake\n[0-30s] waves crash\nduration: 10s")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "time_past_duration"
    assert body["extra"]["line"] == 2


@pytest.mark.parametrize("prompt", ["", "   \n  "])
def test_an_empty_prompt_is_refused(client_for, leo, prompt):
    response = post(client_for(leo), prompt)
    assert response.status_code == 400
    assert response.json()["code"] == "empty_prompt"


def test_unknown_mention_is_refused(client_for, leo):
    response = post(client_for(leo), "@nobody_here dances")
    assert response.status_code == 404
    assert response.json()["code"] == "cameo_not_found"


def test_a_cameo_the_user_may_not_use_is_refused(client_for, leo, maya):
    CameoFactory(owner=maya, permission="approved")
    response = post(client_for(leo), "@maya dances")
    assert response.status_code == 403
    assert response.json()["code"] == "cameo_permission_denied"
    assert response.json()["extra"]["can_request_access"] is True


def test_an_approved_user_may_use_it(client_for, leo, maya):
    cameo = CameoFactory(owner=maya, permission="approved")
    CameoAccessRequest.objects.create(cameo=cameo, requester=leo, status="approved")
    assert post(client_for(leo), "@maya dances").status_code == 201


def test_blocked_users_cannot_use_each_others_cameo(client_for, leo, maya, maya_cameo):
    Block.objects.create(blocker=maya, blocked=leo)
    response = post(client_for(leo), "@maya dances")
    assert response.status_code == 404
    assert response.json()["code"] == "cameo_not_found"


@pytest.mark.parametrize("blocked_by", ["owner", "requester"])
def test_a_mention_of_a_blocked_person_reads_exactly_like_a_name_with_no_cameo(
    client_for, make_user, leo, maya, maya_cameo, blocked_by
):
    """Whether someone on the other side of a block has a cameo is not for the requester to learn."""
    ana = make_user(username="ana")  # no cameo at all
    for other in (maya, ana):
        blocker, blocked = (other, leo) if blocked_by == "owner" else (leo, other)
        Block.objects.create(blocker=blocker, blocked=blocked)

    with_cameo = post(client_for(leo), "@maya dances")
    without_cameo = post(client_for(leo), "@ana dances")
    unknown = post(client_for(leo), "@nobody_here dances")

    assert with_cameo.status_code == without_cameo.status_code == unknown.status_code == 404
    expected = {"code": "cameo_not_found", "message": "No cameo @{} that you can use.", "extra": {}}
    for name, response in (("maya", with_cameo), ("ana", without_cameo), ("nobody_here", unknown)):
        assert response.json() == {**expected, "message": expected["message"].format(name)}


def test_own_unverified_cameo_is_refused(client_for, leo):
    CameoFactory(owner=leo, status="processing")
    response = post(client_for(leo), "@leo dances")
    assert response.status_code in (404, 409)
    assert response.json()["code"] in ("cameo_not_found", "cameo_not_verified")


@pytest.mark.parametrize(
    ("prompt", "code", "category"),
    [
        ("@maya babysits a toddler in the park", "policy_minors", "minors"),
        ("@maya plays with a 12-year-old", "policy_minors", "minors"),
        ("@maya poses n4ked on the beach", "policy_sexual_real_person", "sexual"),
        ("a naked statue comes alive", "policy_blocked_category", "sexual"),
        ("@maya in a gory decapitation scene", "policy_blocked_category", "gore"),
        ("@maya talks about suicide", "policy_blocked_category", "self_harm"),
    ],
)
def test_prompt_policy_refusals(client_for, leo, maya_cameo, prompt, code, category):
    response = post(client_for(leo), prompt)
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == code
    assert response.json()["extra"]["category"] == category
    assert not Generation.objects.exists()


def test_named_real_people_without_a_cameo_are_refused(client_for, leo, maya_cameo):
    response = post(client_for(leo), "@maya shakes hands with Taylor Swift on stage")
    assert response.status_code == 422
    assert response.json()["code"] == "policy_real_person"
    assert response.json()["extra"]["name"] == "Taylor Swift"


def test_names_in_the_protected_gallery_are_refused_too(client_for, leo, maya_cameo):
    ProtectedLikeness.objects.create(name="Ada Lovelace", vector=b"\0" * 512, dimensions=128, model_name="x")
    response = post(client_for(leo), "@maya and ada  LOVELACE write code")
    assert response.status_code == 422
    assert response.json()["code"] == "policy_real_person"


def test_owner_restricted_category(client_for, leo, maya):
    CameoFactory(owner=maya, permission="everyone", restricted_categories=["romance"])
    response = post(client_for(leo), "@maya kisses a frog at sunset")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "cameo_restricted"
    assert body["extra"]["category"] == "romance"
    assert body["extra"]["mention"] == "maya"


def test_owner_forbidden_word(client_for, leo, maya):
    CameoFactory(owner=maya, permission="everyone", forbidden_words=["pineapple pizza"])
    response = post(client_for(leo), '@maya says "I love Pineapple   Pizza"')
    assert response.status_code == 422
    assert response.json()["code"] == "cameo_restricted"
    assert response.json()["extra"]["word"] == "pineapple pizza"


def test_an_owner_is_not_restricted_by_their_own_rules(client_for, maya):
    CameoFactory(owner=maya, permission="only_me", restricted_categories=["romance"])
    assert post(client_for(maya), "@maya kisses a frog at sunset").status_code == 201


def test_restrictions_are_data_of_one_cameo_only(client_for, leo, maya, make_user):
    """Another cameo's rules never apply to a video that does not use it."""
    CameoFactory(owner=maya, permission="everyone", restricted_categories=["romance"])
    nia = make_user(username="nia")
    CameoFactory(owner=nia, permission="everyone")
    assert post(client_for(leo), "@nia kisses a frog at sunset").status_code == 201


@override_settings(GENERATION_DAILY_QUOTA=3, GENERATION_MAX_CONCURRENT=10)
def test_daily_quota(client_for, leo, maya_cameo):
    client = client_for(leo)
    for _ in range(3):
        assert post(client, "@maya waves").status_code == 201
    response = post(client, "@maya waves")
    assert response.status_code == 429
    assert response.json()["code"] == "quota_exceeded"
    assert response.json()["extra"]["limit"] == 3
    assert Generation.objects.count() == 3


@override_settings(GENERATION_MAX_CONCURRENT=2)
def test_concurrency_limit_counts_queued_and_running_only(client_for, leo, maya_cameo):
    client = client_for(leo)
    assert post(client, "@maya waves").status_code == 201
    assert post(client, "@maya waves").status_code == 201
    response = post(client, "@maya waves")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_running"
    Generation.objects.filter(pk=Generation.objects.first().pk).update(status=GenerationStatus.SUCCEEDED)
    assert post(client, "@maya waves").status_code == 201


def test_idempotency_key_returns_the_same_job(client_for, leo, maya_cameo):
    client = client_for(leo)
    first = client.post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    again = client.post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Generation.objects.count() == 1


@override_settings(GENERATION_DAILY_QUOTA=1)
def test_a_retry_gets_its_job_even_when_the_quota_is_now_used_up(client_for, leo, maya_cameo):
    client = client_for(leo)
    first = client.post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)


def test_idempotency_key_reused_for_another_prompt_is_a_conflict(client_for, leo, maya_cameo):
    client = client_for(leo)
    client.post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    response = client.post(URL, {"prompt": "@maya jumps"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_user(client_for, leo, maya, maya_cameo):
    a = client_for(leo).post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    b = client_for(maya).post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


def test_a_bad_idempotency_key_is_refused(client_for, leo, maya_cameo):
    response = client_for(leo).post(
        URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 65
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_idempotency_key"


@override_settings(GENERATION_DAILY_QUOTA=0)
def test_checks_run_in_order_mentions_policy_restrictions_limits(client_for, leo, maya, make_user):
    CameoFactory(owner=maya, permission="everyone", restricted_categories=["horror"])
    CameoFactory(owner=make_user(username="ivy"), permission="only_me")
    client = client_for(leo)
    # an unusable mention wins over the policy, the policy over restrictions, restrictions over the quota
    assert post(client, "@ivy and @maya babysit a toddler").json()["code"] == "cameo_permission_denied"
    assert post(client, "@maya babysits a toddler in a haunted house").json()["code"] == "policy_minors"
    assert post(client, "@maya in a haunted house").json()["code"] == "cameo_restricted"
    assert post(client, "@maya waves").json()["code"] == "quota_exceeded"


def test_remix_of_a_published_video_keeps_lineage(client_for, leo, maya, maya_cameo):
    source = GenerationFactory(requester=maya, cameos=[maya_cameo], published_at="2026-11-01T00:00:00Z")
    response = post(client_for(leo), "@maya plays chess on mars", remix_of=source.pk)
    assert response.status_code == 201
    assert response.json()["remix_of"] == source.pk
    assert response.json()["remix_of_requester"] == "maya"
    assert Generation.objects.get(pk=response.json()["id"]).remix_of_id == source.pk


@pytest.mark.parametrize("state", ["draft", "removed", "blocked_requester"])
def test_remix_needs_a_published_visible_source(client_for, leo, maya, maya_cameo, state):
    source = GenerationFactory(requester=maya, cameos=[maya_cameo])
    if state != "draft":
        source.published_at = "2026-11-01T00:00:00Z"
    if state == "removed":
        source.removed_at = "2026-11-02T00:00:00Z"
    source.save()
    if state == "blocked_requester":
        Block.objects.create(blocker=leo, blocked=maya)
    response = post(client_for(leo), "a calm lake", remix_of=source.pk)
    assert response.status_code == 404
    assert response.json()["code"] == "remix_source_not_found"


def test_a_remix_is_checked_like_any_prompt(client_for, leo, maya, make_user):
    """Remixing someone's video does not grant their cameos: every mention is checked for the remixer."""
    private = CameoFactory(owner=maya, permission="only_me")
    source = GenerationFactory(requester=maya, cameos=[private], published_at="2026-11-01T00:00:00Z")
    response = post(client_for(leo), "@maya plays chess on mars", remix_of=source.pk)
    assert response.status_code == 403
    assert response.json()["code"] == "cameo_permission_denied"


def test_mutual_followers_may_use_a_mutuals_cameo(client_for, leo, maya):
    CameoFactory(owner=maya, permission="mutuals")
    Follow.objects.create(follower=leo, followee=maya)
    assert post(client_for(leo), "@maya waves").status_code == 403
    Follow.objects.create(follower=maya, followee=leo)
    assert post(client_for(leo), "@maya waves").status_code == 201


def test_a_deactivated_owners_cameo_cannot_be_used(client_for, leo, maya, maya_cameo):
    maya.is_active = False
    maya.save()
    assert post(client_for(leo), "@maya waves").status_code == 404
