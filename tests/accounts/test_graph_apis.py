"""Follow, followers/following, mutuals, block and mute, each for owner / other / anonymous."""

import pytest

from accounts.models import Block, Follow, Mute
from accounts.services import block_create, follow_create

pytestmark = pytest.mark.django_db


def usernames(response):
    return [item["username"] for item in response.json()["results"]]


class TestFollow:
    def test_follow_and_unfollow(self, client_for, user, other_user):
        client = client_for(user)

        assert client.post("/api/v1/users/leo/follow/").status_code == 204
        assert client.post("/api/v1/users/leo/follow/").status_code == 204  # idempotent
        assert Follow.objects.filter(follower=user, followee=other_user).count() == 1
        assert client.delete("/api/v1/users/leo/follow/").status_code == 204
        assert not Follow.objects.exists()

    def test_cannot_follow_self(self, client_for, user):
        response = client_for(user).post("/api/v1/users/maya/follow/")

        assert response.status_code == 400
        assert response.json()["code"] == "cannot_follow_self"

    def test_anonymous_cannot_follow(self, api_client, user):
        assert api_client.post("/api/v1/users/maya/follow/").status_code == 401

    def test_a_blocked_user_cannot_follow_me(self, client_for, user, other_user):
        block_create(blocker=user, blocked=other_user)

        response = client_for(other_user).post("/api/v1/users/maya/follow/")

        assert response.status_code == 404
        assert not Follow.objects.exists()

    def test_followers_and_following_lists(self, api_client, make_user, user, other_user):
        third = make_user(username="zoe")
        follow_create(follower=other_user, followee=user)
        follow_create(follower=third, followee=user)
        follow_create(follower=user, followee=third)

        assert usernames(api_client.get("/api/v1/users/maya/followers/")) == ["zoe", "leo"]
        assert usernames(api_client.get("/api/v1/users/maya/following/")) == ["zoe"]

    def test_lists_hide_people_blocked_either_way(self, client_for, make_user, user, other_user):
        third = make_user(username="zoe")
        follow_create(follower=other_user, followee=third)
        follow_create(follower=user, followee=third)
        block_create(blocker=other_user, blocked=user)

        assert usernames(client_for(user).get("/api/v1/users/zoe/followers/")) == ["maya"]

    def test_followers_list_is_cursor_paginated(self, api_client, make_user, user):
        for index in range(5):
            follow_create(follower=make_user(username=f"fan{index}"), followee=user)

        first = api_client.get("/api/v1/users/maya/followers/?page_size=2").json()
        second = api_client.get(first["next"]).json()

        assert [u["username"] for u in first["results"]] == ["fan4", "fan3"]
        assert [u["username"] for u in second["results"]] == ["fan2", "fan1"]
        assert second["previous"]


class TestMutuals:
    def test_only_people_who_follow_back(self, client_for, make_user, user, other_user):
        fan = make_user(username="fan")
        follow_create(follower=user, followee=other_user)
        follow_create(follower=other_user, followee=user)
        follow_create(follower=fan, followee=user)

        assert usernames(client_for(user).get("/api/v1/users/me/mutuals/")) == ["leo"]

    def test_anonymous_is_401(self, api_client):
        assert api_client.get("/api/v1/users/me/mutuals/").status_code == 401


class TestBlock:
    def test_block_cuts_follows_both_ways_and_is_listed(self, client_for, user, other_user):
        follow_create(follower=user, followee=other_user)
        follow_create(follower=other_user, followee=user)
        client = client_for(user)

        assert client.post("/api/v1/users/leo/block/").status_code == 204

        assert not Follow.objects.exists()
        assert usernames(client.get("/api/v1/users/me/blocks/")) == ["leo"]

    def test_unblock_works_although_the_blocked_profile_is_hidden(self, client_for, user, other_user):
        block_create(blocker=user, blocked=other_user)

        assert client_for(user).delete("/api/v1/users/leo/block/").status_code == 204
        assert not Block.objects.exists()

    def test_the_blocked_user_cannot_unblock(self, client_for, user, other_user):
        block_create(blocker=user, blocked=other_user)

        client_for(other_user).delete("/api/v1/users/maya/block/")

        assert Block.objects.filter(blocker=user, blocked=other_user).exists()

    def test_cannot_block_self(self, client_for, user):
        assert client_for(user).post("/api/v1/users/maya/block/").json()["code"] == "cannot_block_self"

    def test_anonymous_is_401(self, api_client, user):
        assert api_client.post("/api/v1/users/maya/block/").status_code == 401
        assert api_client.get("/api/v1/users/me/blocks/").status_code == 401


class TestMute:
    def test_mute_is_one_way_and_listed(self, client_for, user, other_user):
        client = client_for(user)

        assert client.post("/api/v1/users/leo/mute/").status_code == 204

        assert usernames(client.get("/api/v1/users/me/mutes/")) == ["leo"]
        assert usernames(client_for(other_user).get("/api/v1/users/me/mutes/")) == []
        assert client_for(other_user).get("/api/v1/users/maya/").status_code == 200
        assert client.delete("/api/v1/users/leo/mute/").status_code == 204
        assert not Mute.objects.exists()

    def test_anonymous_is_401(self, api_client, user):
        assert api_client.post("/api/v1/users/maya/mute/").status_code == 401
