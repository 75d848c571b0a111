"""Query budgets per feed endpoint, exact: a page costs the same number of SQL queries whether it holds one
post or twenty, however many cameos, remixes or comments each has, and (For You) whatever the viewer's
follows, steering and "see less" marks, for a first page that ranks or reads a kept ranking, and on a later
page of the ranked snapshot."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Follow
from feed.cards import post_cards_forget
from feed.models import Comment, FeedSteering, PostEmbedding, PostView, SeeLess
from feed.ranking.score import pack_vectors
from feed.ranking.selectors import POPULAR_CACHE_KEY
from feed.ranking.snapshot import ranking_forget
from generation.models import Generation
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db

# A page of posts ends with the rule over the sources its remixes name that are not on it (`remix_of`: every
# post here remixes one; never asked on the remixes of a post, whose source is known visible).
# `/feed/`, Following and a profile read a page from candidates (feed.apis._PageOfCandidates): authentication,
# the candidates (by index), the rule over their ids, the cards' rows and cameo uses (feed.cards; measured
# not kept), the sources. The others: authentication, the page's query, its prefetch (cameo uses with their
# owners, or replies), the sources.
BUDGETS = {
    "feed": 6,
    "following": 6,
    "profile": 8,  # + the profile's owner, and a block between you
    "cameo": 6,  # + the cameo, and a block between you and its owner
    "remixes": 4,  # + the post remixed
    "comments": 4,  # + the post, the comments, their replies
    # A first page that ranks: follows, likes, comments, views, steering, see-less marks (viewer signals);
    # followed, mutuals' cameos, popular, steering pool (candidates, by index; measured with the popular list
    # not cached, its worst case), the visibility rule over their union; the candidates' features and their
    # cameos' owners; the rule over the page's window, the page.
    "for-you": 18,
    # A first page from the viewer's kept ranking (in Redis, not SQL), and a later page: the rule over the
    # window's ids (feed.visible_ids), the posts that passed.
    "for-you-kept": 5,
    "for-you-next": 5,
}


@pytest.fixture
def scene(person):
    viewer, author, maya = person("viewer"), person("author"), person("maya")
    Follow.objects.create(follower=viewer, followee=author)
    Follow.objects.create(follower=viewer, followee=maya)
    Follow.objects.create(follower=maya, followee=viewer)
    cameo = CameoFactory(owner=maya, permission="everyone")
    source = GenerationFactory(requester=maya, published_at=timezone.now())
    # Watched, so never on a For You page: every page asks the rule about the source its posts remix.
    PostView.objects.create(post=source.post, viewer=viewer, watch_ms=100)
    steering = FeedSteering.objects.create(
        user=viewer, text="more cats", more=["cats"], embedded_text="more cats", more_vectors=_unit(0)
    )
    return {
        "viewer": viewer,
        "author": author,
        "maya": maya,
        "cameo": cameo,
        "source": source,
        "steering": steering,
    }


def _unit(axis: int) -> bytes:
    import numpy as np

    vector = np.zeros((1, 384), dtype=np.float32)
    vector[0, axis % 384] = 1.0
    return pack_vectors(vector)


def _add_posts(scene, person, count: int, start: int) -> None:
    for n in range(start, start + count):
        extra = CameoFactory(owner=person(f"extra{n}"), permission="everyone")
        author = scene["author"] if n % 2 else person(f"writer{n}")
        post = GenerationFactory(
            requester=author,
            cameos=[scene["cameo"], extra],
            remix_of=scene["source"],
            published_at=timezone.now(),
            post__hashtags=["cats"],
        )
        PostEmbedding.objects.create(post=post.post, vector=_unit(n), text_sha256="x")
        Comment.objects.create(post=scene["source"].post, author=author, text="hi")
        reply_to = Comment.objects.filter(post=scene["source"].post).first()
        Comment.objects.create(post=scene["source"].post, author=author, text="re", parent=reply_to)
        PostView.objects.create(post=post.post, viewer=scene["maya"], watch_ms=100)
    seen = GenerationFactory(requester=scene["author"], remix_of=scene["source"], published_at=timezone.now())
    PostView.objects.create(post=seen.post, viewer=scene["viewer"], watch_ms=100)
    SeeLess.objects.get_or_create(user=scene["viewer"], post=seen.post, author=scene["author"])


def _url(name: str, scene) -> str:
    return {
        "feed": "/api/v1/feed/",
        "following": "/api/v1/feed/following/",
        "profile": "/api/v1/users/author/posts/",
        "cameo": f"/api/v1/cameos/{scene['cameo'].pk}/posts/",
        "remixes": f"/api/v1/posts/{scene['source'].pk}/remixes/",
        "comments": f"/api/v1/posts/{scene['source'].pk}/comments/",
        "for-you": "/api/v1/feed/for-you/",
    }[name.removesuffix("-next").removesuffix("-kept")]


@pytest.mark.parametrize("name", BUDGETS)
def test_a_page_costs_its_budget_whatever_its_size(
    name, scene, person, client_for, django_assert_max_num_queries
):
    client = client_for(scene["viewer"])
    url = f"{_url(name, scene)}?page_size="
    _add_posts(scene, person, 3, start=0)

    def fetch(size: int) -> int:
        """The queries of a page of `size` (for `-next`, of the page after the first)."""
        first = f"{url}{size}"
        ranking_forget(viewer_id=scene["viewer"].pk)  # "for-you" measures the first page that ranks
        url_of_page = first
        if name.endswith("-next"):
            url_of_page = client.get(first).json()["next"]
        elif name.endswith("-kept"):
            client.get(first)  # ranks and keeps the ranking, which the measured first page reads
        cache.delete(POPULAR_CACHE_KEY)  # shared by every viewer for a minute: measure the page that sorts it
        # Posts' cards are kept a minute (feed.cards): measure the page that reads them from the database.
        post_cards_forget(post_ids=Generation.objects.values_list("pk", flat=True))
        with django_assert_max_num_queries(BUDGETS[name]) as page:
            response = client.get(url_of_page)
        assert response.status_code == 200, response.json()
        results = len(response.json()["results"])
        assert results == size or (name.endswith("-next") and results > 1), results
        return len(page.captured_queries)

    one = fetch(1)
    _add_posts(scene, person, 40, start=3)
    assert fetch(20) == BUDGETS[name]
    # A later For You page of one post without cameos skips the owners' prefetch, the others never differ.
    assert one == BUDGETS[name] or name == "for-you-next"


# Authentication (1); the post (`post_get_visible`: 1, its cameo uses with their owners: 1); the ids of its
# lineage (one recursive CTE); the nodes the viewer may see (1, their cameo uses with their owners: 1); the
# rule over the topmost node's source (1: here a private post, so the topmost node names none).
REMIX_TREE_BUDGET = 7


def test_a_remix_tree_costs_its_budget_whatever_its_size(
    scene, person, client_for, django_assert_max_num_queries
):
    """A tree of three nodes, then one of a source chain, three full levels below and hidden nodes among
    them, cost the same queries."""
    client = client_for(scene["viewer"])
    cameo = scene["cameo"]

    def post(source, author=None, **kwargs):
        return GenerationFactory(
            requester=author or scene["maya"],
            cameos=[cameo],
            remix_of=source,
            published_at=timezone.now(),
            **kwargs,
        )

    first = post(post(None, post__visibility="private", author=scene["author"]))
    middle = post(first)
    post(middle)
    url = f"/api/v1/posts/{middle.pk}/remix-tree/"

    def fetch() -> int:
        with django_assert_max_num_queries(REMIX_TREE_BUDGET) as tree:
            response = client.get(url)
        assert response.status_code == 200, response.json()
        return len(tree.captured_queries)

    assert fetch() == REMIX_TREE_BUDGET
    level = [middle]
    for depth in range(3):
        level = [post(parent, person(f"d{depth}p{parent.pk}n{n}")) for parent in level for n in range(3)]
    post(middle, post__visibility="private", author=scene["author"])
    assert len(client.get(url).json()["nodes"]) == 3 + 3 + 9 + 27  # the private one left out
    assert fetch() == REMIX_TREE_BUDGET
