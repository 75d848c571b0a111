"""Each kind of notification made by its real trigger, the like aggregate, and who may notify whom (blocks,
mutes, the teen rule); pushed after commit, never by a transaction that rolls back."""

from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Block, Follow, Mute
from accounts.services import follow_create, follow_delete
from cameos.services import access_request_create, access_request_decide
from core.exceptions import ApplicationError
from feed.models import Notification
from feed.notifications.selectors import notifications_for
from feed.notifications.serializers import NotificationSerializer
from feed.services import comment_create, post_like, post_publish, post_unlike, post_unpublish
from generation import runner
from generation.inference import OutputFacts, RenderResult
from generation.models import GenerationStatus
from generation.output_checks import Verdict
from moderation.services import case_claim, case_decide, report_create
from tests.factories import CameoFactory, GenerationFactory, with_role

pytestmark = pytest.mark.django_db

MODERATION_FIELDS = ("decision_id", "target_type", "target_id", "action", "rule", "reason", "strike",
                     "suspended_until")  # fmt: skip


def shown(user) -> list[dict]:
    """What `user` sees in their list, newest first."""
    rows = notifications_for(recipient=user).order_by("-notified_at", "-pk")
    return [dict(NotificationSerializer(row).data) for row in rows]


def texts(user) -> list[str]:
    return [row["text"] for row in shown(user)]


def test_a_follow_tells_the_followee_once(maya, leo, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=leo, followee=maya)
        follow_create(follower=leo, followee=maya)  # already following: nothing new
    follow_delete(follower=leo, followee=maya)
    follow_create(follower=leo, followee=maya)  # again after an unfollow: not announced twice

    assert texts(maya) == ["leo started following you"]
    assert [(uid, data["notification"]["kind"], data["unread_count"]) for uid, data in pushed] == [
        (maya.pk, "follow", 1)
    ]
    assert texts(leo) == []


def test_an_access_request_tells_the_owner_and_a_grant_tells_the_requester(maya, leo, mayas_cameo):
    mayas_cameo.permission = "approved"
    mayas_cameo.save()
    request = access_request_create(cameo=mayas_cameo, requester=leo)
    [asked] = shown(maya)
    assert (asked["kind"], asked["text"], asked["cameo_id"], asked["access_request_id"]) == (
        "access_requested",
        "leo asked to use your cameo",
        mayas_cameo.pk,
        request.pk,
    )

    access_request_decide(owner=maya, request_id=request.pk, approve=True)
    access_request_decide(owner=maya, request_id=request.pk, approve=True)  # already approved

    assert [(n["kind"], n["text"]) for n in shown(leo)] == [
        ("access_granted", "maya approved your request to use their cameo")
    ]


def test_a_denial_tells_nobody(maya, leo, mayas_cameo):
    mayas_cameo.permission = "approved"
    mayas_cameo.save()
    request = access_request_create(cameo=mayas_cameo, requester=leo)
    access_request_decide(owner=maya, request_id=request.pk, approve=False)
    assert shown(leo) == []


def _store_render(generation) -> None:
    """What the runner does when a render finishes and passes its checks (the engine itself is tested in
    tests/generation; the worker test in test_delivery runs it for real)."""
    generation.status, generation.worker_id = GenerationStatus.RUNNING, "test-worker"
    generation.save()
    result = RenderResult(
        mp4_path=Path("unused.mp4"), poster_path=Path("unused.jpg"), engine_metadata={}, manifest={},
        fingerprint="", spoken_lines=(), duration=2.0,
    )  # fmt: skip
    kept = runner._store_under_lock(
        generation.pk, "test-worker", ("v.mp4", "p.jpg"), result=result,
        facts=OutputFacts(transcript=""), verdict=Verdict(status="succeeded"), timings={},
    )  # fmt: skip
    assert kept


def test_a_finished_video_with_someones_cameo_tells_its_owner(maya, leo, mayas_cameo):
    draft = GenerationFactory(requester=leo, cameos=[mayas_cameo], status=GenerationStatus.QUEUED)
    own = GenerationFactory(requester=maya, cameos=[mayas_cameo], status=GenerationStatus.QUEUED)

    _store_render(draft)
    _store_render(own)  # her own video with her own cameo: nothing to tell her

    [used] = shown(maya)
    assert (used["kind"], used["text"], used["appearance_id"], used["post_id"], used["cameo_id"]) == (
        "cameo_used_in_draft",
        "leo made a video with your cameo",
        draft.pk,
        None,  # a draft is no post
        mayas_cameo.pk,
    )


def test_a_render_held_by_its_checks_tells_nobody(maya, leo, mayas_cameo):
    draft = GenerationFactory(requester=leo, cameos=[mayas_cameo], status=GenerationStatus.RUNNING)
    draft.worker_id = "w"
    draft.save()
    result = RenderResult(Path("a"), Path("b"), {}, {}, "", (), 1.0)
    verdict = Verdict(status="needs_review", reason="face_mismatch")
    runner._store_under_lock(draft.pk, "w", ("a", "b"), result=result, facts=OutputFacts(""), verdict=verdict,
                             timings={})  # fmt: skip
    assert shown(maya) == []


def test_publishing_tells_each_cameo_owner_once(maya, leo, draft):
    post_publish(author=leo, generation_id=draft.pk)
    post_unpublish(author=leo, post_id=draft.pk)
    post_publish(author=leo, generation_id=draft.pk)

    [posted] = shown(maya)
    assert (posted["kind"], posted["text"], posted["post_id"], posted["appearance_id"]) == (
        "cameo_used_in_post",
        "leo posted a video with your cameo",
        draft.pk,
        draft.pk,
    )
    assert shown(leo) == []


def test_comments_tell_the_author_and_replies_the_commenter(maya, leo, stranger, post):
    top = comment_create(author=stranger, post_id=post.pk, text="first!")
    comment_create(author=maya, post_id=post.pk, text="agreed", parent_id=top.pk)
    comment_create(author=leo, post_id=post.pk, text="thanks", parent_id=top.pk)
    comment_create(author=leo, post_id=post.pk, text="my own")  # nobody hears of their own

    assert [(n["kind"], n["text"], n["comment_text"]) for n in shown(leo)] == [
        ("comment", "maya commented on your video", "agreed"),
        ("comment", "stranger commented on your video", "first!"),
    ]
    assert [(n["kind"], n["text"], n["comment_text"], n["post_id"]) for n in shown(stranger)] == [
        ("reply", "leo replied to your comment", "thanks", post.pk),
        ("reply", "maya replied to your comment", "agreed", post.pk),
    ]


def test_a_reply_to_the_authors_own_comment_tells_them_once(leo, stranger, post):
    top = comment_create(author=leo, post_id=post.pk, text="what do you think?")
    comment_create(author=stranger, post_id=post.pk, text="great", parent_id=top.pk)
    assert [n["kind"] for n in shown(leo)] == ["reply"]


def test_likes_aggregate_into_one_notification_per_post(
    leo, person, post, pushed, django_capture_on_commit_callbacks
):
    likers = [person(f"liker{n}") for n in range(13)]
    with django_capture_on_commit_callbacks(execute=True):
        for liker in likers:
            post_like(user=liker, post_id=post.pk)

    [likes] = shown(leo)
    assert likes["text"] == "liker12 and 12 others liked your video"
    assert (likes["actor"], likes["actor_count"], likes["post_id"]) == ("liker12", 13, post.pk)
    assert Notification.objects.filter(recipient=leo).count() == 1
    assert len(pushed) == 13 and pushed[-1][1]["unread_count"] == 1

    post_unlike(user=likers[12], post_id=post.pk)  # the latest takes it back: the one before is named
    assert texts(leo) == ["liker11 and 11 others liked your video"]
    post_unlike(user=likers[0], post_id=post.pk)
    assert texts(leo) == ["liker11 and 10 others liked your video"]


def test_liking_and_unliking_again_and_again_announces_nothing_new(
    leo, stranger, post, pushed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_like(user=stranger, post_id=post.pk)
    notification = Notification.objects.get(recipient=leo)
    first_announced = notification.notified_at
    Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            post_unlike(user=stranger, post_id=post.pk)
            assert shown(leo) == []  # no likes left: nothing to show
            post_like(user=stranger, post_id=post.pk)

    [likes] = shown(leo)
    assert (likes["text"], likes["read"]) == ("stranger liked your video", True)
    assert Notification.objects.get(recipient=leo).notified_at == first_announced
    assert len(pushed) == 1


def test_a_new_liker_past_the_peak_announces_the_aggregate_again(leo, stranger, maya, post):
    post_like(user=stranger, post_id=post.pk)
    Notification.objects.filter(recipient=leo).update(read_at=timezone.now())

    post_like(user=maya, post_id=post.pk)

    [likes] = shown(leo)
    assert (likes["text"], likes["read"]) == ("maya and 1 other liked your video", False)


def test_ones_own_like_is_neither_told_nor_counted(leo, stranger, post):
    post_like(user=leo, post_id=post.pk)
    assert shown(leo) == []
    post_like(user=stranger, post_id=post.pk)
    assert texts(leo) == ["stranger liked your video"]


def test_nothing_from_someone_blocked_either_way_or_muted(leo, maya, stranger, person, post):
    blocker = person("blocker")
    Block.objects.create(blocker=leo, blocked=stranger)
    Block.objects.create(blocker=blocker, blocked=leo)
    Mute.objects.create(muter=leo, muted=maya)
    post_like(user=maya, post_id=post.pk)
    comment_create(author=maya, post_id=post.pk, text="muted")
    follow_create(follower=maya, followee=leo)

    assert shown(leo) == []
    # The muted liker is not counted by the next like either.
    post_like(user=person("fan"), post_id=post.pk)
    assert texts(leo) == ["fan liked your video"]


def test_a_later_block_or_mute_hides_what_that_person_caused(leo, maya, stranger, post):
    comment_create(author=maya, post_id=post.pk, text="hi")
    follow_create(follower=stranger, followee=leo)
    assert len(shown(leo)) == 2

    Mute.objects.create(muter=leo, muted=maya)
    Block.objects.create(blocker=stranger, blocked=leo)

    assert shown(leo) == []


def test_a_teen_hears_only_from_mutuals(teen, stranger, maya, person):
    teens_post = GenerationFactory(requester=teen, published_at=timezone.now())
    Follow.objects.create(follower=teen, followee=maya)
    Follow.objects.create(follower=maya, followee=teen)
    Follow.objects.create(follower=teen, followee=stranger)  # one way only: still a stranger

    for someone in (stranger, maya):
        post_like(user=someone, post_id=teens_post.pk)
    comment_create(author=maya, post_id=teens_post.pk, text="hello")
    # An adult stranger may not comment on a teen's post at all (feed's teen rules), so only the like is
    # theirs to be silenced here.
    with pytest.raises(ApplicationError):
        comment_create(author=stranger, post_id=teens_post.pk, text="hello")
    follow_create(follower=person("adult"), followee=teen)

    assert texts(teen) == ["maya commented on your video", "maya liked your video"]


def test_a_post_the_recipient_may_no_longer_see_is_left_out(leo, stranger, maya, post):
    top = comment_create(author=leo, post_id=post.pk, text="mine")
    comment_create(author=maya, post_id=post.pk, text="reply", parent_id=top.pk)
    post_like(user=maya, post_id=post.pk)
    post_unpublish(author=leo, post_id=post.pk)

    for row in shown(leo):
        assert (row["post_id"], row["comment_id"], row["comment_text"]) == (None, None, None), row
    assert sorted(texts(leo)) == ["maya liked your video", "maya replied to your comment"]


def test_a_reply_on_a_post_the_commenter_may_no_longer_see_tells_them_nothing(leo, stranger, post):
    from feed.models import Post

    top = comment_create(author=stranger, post_id=post.pk, text="first")
    Post.objects.filter(pk=post.pk).update(visibility="private")
    comment_create(author=leo, post_id=post.pk, text="only me now", parent_id=top.pk)
    assert shown(stranger) == []


def test_a_moderation_decision_tells_the_user_and_the_reporters_without_the_moderator(
    leo, stranger, maya, post, pushed, django_capture_on_commit_callbacks
):
    moderator = with_role(CameoFactory().owner, "moderator")
    report = report_create(reporter=stranger, target_type="video", target_id=str(post.pk), reason="violence")
    report_create(reporter=maya, target_type="video", target_id=str(post.pk), reason="spam")
    case_claim(moderator=moderator, case_id=report.case_id)

    with django_capture_on_commit_callbacks(execute=True):
        decision = case_decide(
            moderator=moderator, case_id=report.case_id, action="remove_content", rule="violence",
            reason="Graphic violence", strike=True,
        )  # fmt: skip

    [notice] = shown(leo)
    assert notice["kind"] == "moderation_decision"
    assert notice["text"] == "Your video was removed for breaking the rule: violence"
    assert notice["actor"] is None and notice["post_id"] is None
    assert {key: notice[key] for key in MODERATION_FIELDS} == {
        "decision_id": decision.pk,
        "target_type": "video",
        "target_id": str(post.pk),
        "action": "remove_content",
        "rule": "violence",
        "reason": "Graphic violence",
        "strike": True,
        "suspended_until": None,
    }
    for reporter in (stranger, maya):
        [outcome] = shown(reporter)
        assert outcome["text"] == "Thanks for your report: we reviewed it and took action"
        assert (outcome["outcome"], outcome["actor"], outcome["action"]) == ("actioned", None, None)
    assert {uid for uid, _data in pushed} == {leo.pk, stranger.pk, maya.pk}
    assert moderator.username not in str(pushed) and moderator.username not in str(
        [shown(u) for u in (leo, stranger, maya)]
    )


def test_a_teen_hears_moderation_notices(teen, stranger):
    teens_post = GenerationFactory(requester=teen, published_at=timezone.now())
    moderator = with_role(CameoFactory().owner, "moderator")
    report = report_create(
        reporter=stranger, target_type="video", target_id=str(teens_post.pk), reason="spam"
    )
    case_claim(moderator=moderator, case_id=report.case_id)
    case_decide(moderator=moderator, case_id=report.case_id, action="warn", rule="spam", reason="Please stop")
    assert texts(teen) == ["You received a warning for breaking the rule: spam"]


def test_an_action_that_rolls_back_leaves_no_notification_and_pushes_nothing(
    leo, stranger, post, pushed, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        post_like(user=stranger, post_id=post.pk)
        raise RuntimeError("the request failed after the like")

    assert Notification.objects.count() == 0
    assert pushed == []
