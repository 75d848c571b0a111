"""`PostSerializer.to_representation` reads its fields directly for speed, from the post or from its card
(`feed.cards`, made from the post or from plain rows); it must say exactly what DRF's walk over the
declared fields says (which is also what the OpenAPI schema describes), for every kind of
post: with and without cameos, a remix, media, hashtags and mentions, and as the author sees it."""

import pickle
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request

from core.signed_media import media_token_read
from feed.apis import PostAuthorSerializer, PostSerializer
from feed.cards import post_card, post_cards
from feed.selectors import with_everything_a_page_shows
from generation.models import Generation
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


def _grant(url: str | None):
    """What a signed link grants (tokens differ at each signing: their grants must not)."""
    return None if url is None else media_token_read(url.rsplit("/", 1)[1])


@pytest.mark.parametrize("serializer_class", [PostSerializer, PostAuthorSerializer])
def test_the_direct_representation_is_the_declared_fields_walk(serializer_class, person):
    author, maya, leo = person("author"), person("maya", display_name="Maya R."), person("leo")
    source = GenerationFactory(requester=maya, published_at=timezone.now() - timedelta(days=1))
    GenerationFactory(requester=leo, remix_of=source, published_at=timezone.now())
    rich = GenerationFactory(
        requester=author,
        cameos=[CameoFactory(owner=maya), CameoFactory(owner=leo)],
        remix_of=source,
        published_at=timezone.now(),
        video="generations/1/video.mp4",
        poster="generations/1/poster.jpg",
        post__caption="chess with @maya #moon",
        post__hashtags=["moon"],
        post__mentions=["maya"],
        post__like_count=3,
        post__visibility="followers",
    )
    request = Request(RequestFactory().get("/api/v1/feed/"))
    request.user = author
    posts = list(with_everything_a_page_shows(Generation.objects.filter(pk__in=[source.pk, rich.pk])))
    assert len(posts) == 2

    for post in posts:
        serializer = serializer_class(context={"request": request})
        direct = serializer.to_representation(post)
        walked = serializers.Serializer.to_representation(serializer, post)
        ways = [direct, walked]
        if serializer_class is PostSerializer:  # the feeds' pages: from the card kept in the cache
            ways.append(serializer.to_representation(pickle.loads(pickle.dumps(post_card(post)))))
            # ... which a page makes from plain rows when it is not kept
            (read,) = post_cards(post_ids=[post.pk])
            assert read == post_card(post)
            ways.append(serializer.to_representation(read))

        for way in ways:
            assert way.keys() == walked.keys()
        for url in ("video_url", "poster_url"):
            grants = {_grant(way.pop(url)) for way in ways}
            assert len(grants) == 1, grants
        assert all(way == walked for way in ways)
    shown = next(post for post in posts if post.pk == rich.pk)
    assert _grant(serializer_class(shown, context={"request": request}).data["video_url"]) is not None
