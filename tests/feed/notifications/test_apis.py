"""The notifications API: the list (newest first, read state, `?unread=true`, a stable cursor, constant
queries per page), the unread count, mark one read, mark all read; owner / other / anonymous."""

import pytest
from django.utils import timezone

from accounts.services import follow_create
from feed.models import Notification
from feed.services import comment_create, post_like, post_unpublish
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
COUNT = "/api/v1/notifications/unread-count/"
READ_ALL = "/api/v1/notifications/read-all/"


def read_url(notification_id: int) -> str:
    return f"/api/v1/notifications/{notification_id}/read/"


@pytest.fixture
def followers(person, leo):
    """Five people who followed Leo, one after another (five notifications, the last newest)."""
    people = [person(f"fan{n}") for n in range(5)]
    for fan in people:
        follow_create(follower=fan, followee=leo)
    return people


def test_the_list_is_newest_first_with_read_state_and_an_unread_filter(client_for, leo, followers):
    client = client_for(leo)
    listed = client.get(LIST).json()
    assert [n["text"] for n in listed["results"]] == [
        f"fan{n} started following you" for n in range(4, -1, -1)
    ]
    assert listed["next"] is None
    first = listed["results"][0]
    assert (first["kind"], first["actor"], first["actor_display_name"], first["read"], first["read_at"]) == (
        "follow",
        "fan4",
        "Fan4",
        False,
        None,
    )

    assert client.post(read_url(first["id"])).json()["read"] is True

    assert [n["id"] for n in client.get(LIST, {"unread": "true"}).json()["results"]] == [
        n["id"] for n in listed["results"][1:]
    ]
    assert len(client.get(LIST, {"unread": "false"}).json()["results"]) == 5
    refused = client.get(LIST, {"unread": "yes"})
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")


def test_the_cursor_is_stable_while_notifications_arrive(client_for, leo, followers, person):
    client = client_for(leo)
    page = client.get(LIST, {"page_size": 2}).json()
    seen = [n["id"] for n in page["results"]]
    follow_create(follower=person("newcomer"), followee=leo)  # arrives between pages
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [n["id"] for n in page["results"]]
    expected = list(
        Notification.objects.filter(recipient=leo, actor__username__startswith="fan")
        .order_by("-notified_at", "-pk")
        .values_list("pk", flat=True)
    )
    assert seen == expected
    assert client.get(LIST, {"cursor": "bm90LWEtY3Vyc29y"}).json()["code"] == "invalid_cursor"


def test_a_page_costs_the_same_queries_whatever_its_size_and_kinds(
    client_for, leo, person, django_assert_max_num_queries
):
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    for n in range(30):
        fan = person(f"fan{n}")
        follow_create(follower=fan, followee=leo)
        post_like(user=fan, post_id=post.pk)
        top = comment_create(author=fan, post_id=post.pk, text=f"comment {n}")
        comment_create(author=leo, post_id=post.pk, text="thanks", parent_id=top.pk)
    client = client_for(leo)
    # Authentication (the user row), then one list query: actor, comment and the post's visibility are
    # joined or subqueries in it.
    with django_assert_max_num_queries(2):
        small = client.get(LIST, {"page_size": 3})
    with django_assert_max_num_queries(2):
        large = client.get(LIST, {"page_size": 100})
    assert len(small.json()["results"]) == 3 and len(large.json()["results"]) == 61
    assert {n["kind"] for n in large.json()["results"]} == {"follow", "like", "comment"}


def test_a_notification_about_a_post_no_longer_visible_keeps_only_kind_and_actor(client_for, leo, stranger):
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    comment_create(author=stranger, post_id=post.pk, text="secret words")
    post_unpublish(author=leo, post_id=post.pk)

    [row] = client_for(leo).get(LIST).json()["results"]

    assert (row["kind"], row["actor"], row["post_id"], row["comment_id"], row["comment_text"]) == (
        "comment",
        "stranger",
        None,
        None,
        None,
    )
    assert "secret words" not in str(row)


def test_unread_count_mark_read_and_mark_all_read(client_for, leo, followers):
    client = client_for(leo)
    assert client.get(COUNT).json() == {"unread_count": 5}
    one = Notification.objects.filter(recipient=leo).first()

    assert client.post(read_url(one.pk)).status_code == 200
    assert client.post(read_url(one.pk)).status_code == 200  # again: no change
    assert client.get(COUNT).json() == {"unread_count": 4}

    assert client.post(READ_ALL).json() == {"marked": 4, "unread_count": 0}
    assert client.post(READ_ALL).json() == {"marked": 0, "unread_count": 0}
    assert all(n["read"] for n in client.get(LIST).json()["results"])


def test_mark_read_pushes_the_new_count_to_the_recipients_other_devices(
    client_for, leo, followers, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "core.realtime.push_to_user", lambda **kwargs: sent.append((kwargs["user_id"], kwargs["event_type"]))
    )
    one = Notification.objects.filter(recipient=leo).first()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(leo).post(read_url(one.pk))
        client_for(leo).post(READ_ALL)
    assert sent == [(leo.pk, "notification.read"), (leo.pk, "notification.read")]


def test_someone_elses_notification_is_not_found(client_for, leo, stranger, followers):
    leos = Notification.objects.filter(recipient=leo).first()
    client = client_for(stranger)
    response = client.post(read_url(leos.pk))
    assert (response.status_code, response.json()["code"]) == (404, "notification_not_found")
    assert client.post(read_url(2**62)).status_code == 404
    assert client.get(LIST).json()["results"] == []
    assert client.get(COUNT).json() == {"unread_count": 0}
    assert client.post(READ_ALL).json()["marked"] == 0
    assert Notification.objects.get(pk=leos.pk).read_at is None


def test_anonymous_is_refused(api_client, leo, followers):
    one = Notification.objects.filter(recipient=leo).first()
    assert api_client.get(LIST).status_code == 401
    assert api_client.get(COUNT).status_code == 401
    assert api_client.post(read_url(one.pk)).status_code == 401
    assert api_client.post(READ_ALL).status_code == 401
