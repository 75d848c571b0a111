"""A post's remix tree (`GET /api/v1/posts/{id}/remix-tree/`, `feed.selectors.remix_tree_of_post`): the
videos it remixes up to the first, its remixes down to the bound, each as the viewer may see it; a post the
viewer may not see is left out with all beyond it and leaves no trace; the bounds and `truncated`."""

import json
from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import Block
from feed import selectors
from feed.models import Post
from feed.selectors import remix_tree_of_post
from tests.factories import GenerationFactory
from tests.feed.hiding import HIDDEN_KINDS, hide_post

pytestmark = pytest.mark.django_db


def tree_url(post) -> str:
    return f"/api/v1/posts/{post.pk}/remix-tree/"


def remix(source, requester, **kwargs):
    return GenerationFactory(requester=requester, remix_of=source, published_at=timezone.now(), **kwargs)


def shape(response) -> list[tuple[int, int | None, int]]:
    """(id, parent_id, depth) of each node, as the response lists them; each node's post is that post."""
    assert response.status_code == 200, response.json()
    nodes = response.json()["nodes"]
    assert all(node["post"]["id"] == node["id"] for node in nodes)
    return [(node["id"], node["parent_id"], node["depth"]) for node in nodes]


@pytest.fixture
def lineage(leo, maya, stranger):
    """first <- source <- post <- (remix <- remix_of_remix <- third_level <- fourth_level, other_remix):
    the post in the middle of a five-level lineage, by three people, all public."""
    first = GenerationFactory(requester=maya, published_at=timezone.now())
    source = remix(first, leo)
    post = remix(source, maya)
    a_remix = remix(post, stranger)
    other_remix = remix(post, leo)
    remix_of_remix = remix(a_remix, leo)
    third_level = remix(remix_of_remix, maya)
    fourth_level = remix(third_level, stranger)
    return {
        "first": first,
        "source": source,
        "post": post,
        "remix": a_remix,
        "other_remix": other_remix,
        "remix_of_remix": remix_of_remix,
        "third_level": third_level,
        "fourth_level": fourth_level,
    }


def test_the_tree_holds_the_sources_up_to_the_first_and_the_remixes_below(client_for, stranger, lineage):
    t = {name: generation.pk for name, generation in lineage.items()}

    response = client_for(stranger).get(tree_url(lineage["post"]))

    assert shape(response) == [
        (t["first"], None, -2),
        (t["source"], t["first"], -1),
        (t["post"], t["source"], 0),
        (t["remix"], t["post"], 1),
        (t["other_remix"], t["post"], 1),
        (t["remix_of_remix"], t["remix"], 2),
        (t["third_level"], t["remix_of_remix"], 3),
    ]
    assert response.json()["truncated"] is True  # `fourth_level`, four below the post
    post = response.json()["nodes"][2]["post"]
    assert (post["author"], post["remix_of"], post["remix_count"]) == ("maya", t["source"], 2)


def test_from_the_third_level_the_whole_lineage_is_shown(client_for, stranger, lineage):
    t = {name: generation.pk for name, generation in lineage.items()}

    response = client_for(stranger).get(tree_url(lineage["third_level"]))

    assert shape(response) == [
        (t["first"], None, -5),
        (t["source"], t["first"], -4),
        (t["post"], t["source"], -3),
        (t["remix"], t["post"], -2),
        (t["remix_of_remix"], t["remix"], -1),
        (t["third_level"], t["remix_of_remix"], 0),
        (t["fourth_level"], t["third_level"], 1),
    ]
    assert response.json()["truncated"] is False  # a sibling (`other_remix`) is no source: not shown


def test_from_the_first_video_three_levels_are_shown_and_the_rest_is_truncated(client_for, stranger, lineage):
    t = {name: generation.pk for name, generation in lineage.items()}

    response = client_for(stranger).get(tree_url(lineage["first"]))

    assert shape(response) == [
        (t["first"], None, 0),
        (t["source"], t["first"], 1),
        (t["post"], t["source"], 2),
        (t["remix"], t["post"], 3),
        (t["other_remix"], t["post"], 3),
    ]
    assert response.json()["truncated"] is True  # the remixes of `remix`, and theirs


def test_a_video_remixed_by_nobody_is_a_tree_of_one(client_for, stranger, leo):
    post = GenerationFactory(requester=leo, published_at=timezone.now())

    response = client_for(stranger).get(tree_url(post))

    assert shape(response) == [(post.pk, None, 0)]
    assert response.json()["truncated"] is False


@pytest.fixture
def hidden_in_the_middle(person):
    """first <- post <- hidden <- under_hidden <- deeper, and post <- visible_sibling: `hidden` is by
    `zed`, everything else by `leo`; the viewer is `viewer` (a minor, so that an adults-only post is one
    they may not see; leo follows each other with them, so the teen rules hide nothing else)."""
    from accounts.models import Follow

    leo, zed = person("leo"), person("zed")
    viewer = person("viewer", birth_date=date(timezone.now().year - 15, 1, 1))
    Follow.objects.create(follower=viewer, followee=leo)
    Follow.objects.create(follower=leo, followee=viewer)
    first = GenerationFactory(requester=leo, published_at=timezone.now())
    post = remix(first, leo)
    hidden = remix(post, zed)
    under_hidden = remix(hidden, leo)
    deeper = remix(under_hidden, leo)
    visible_sibling = remix(post, leo)
    return {
        "viewer": viewer,
        "zed": zed,
        "first": first,
        "post": post,
        "hidden": hidden,
        "under_hidden": under_hidden,
        "deeper": deeper,
        "visible_sibling": visible_sibling,
    }


@pytest.mark.parametrize("kind", HIDDEN_KINDS)
def test_a_hidden_remix_is_left_out_with_everything_under_it(client_for, hidden_in_the_middle, kind):
    scene = hidden_in_the_middle
    hide_post(kind, scene["hidden"], scene["viewer"])
    client = client_for(scene["viewer"])
    assert client.get(f"/api/v1/posts/{scene['hidden'].pk}/").status_code == 404  # the rule hides it

    response = client.get(tree_url(scene["post"]))

    assert shape(response) == [
        (scene["first"].pk, None, -1),
        (scene["post"].pk, scene["first"].pk, 0),
        (scene["visible_sibling"].pk, scene["post"].pk, 1),
    ]
    assert response.json()["truncated"] is False
    # No trace of it: not its id, not its author, not the posts under it (which would name it).
    assert "zed" not in json.dumps(response.json()).lower()
    assert {scene[name].pk for name in ("hidden", "under_hidden", "deeper")}.isdisjoint(
        _named(response.json())
    )


@pytest.mark.parametrize("kind", HIDDEN_KINDS)
def test_a_hidden_source_ends_the_walk_up(client_for, hidden_in_the_middle, kind):
    """Seen from below it, a hidden source and the sources above it are left out: the tree starts at the
    post, and names nothing above the hidden one."""
    scene = hidden_in_the_middle
    hide_post(kind, scene["hidden"], scene["viewer"])

    response = client_for(scene["viewer"]).get(tree_url(scene["under_hidden"]))

    assert shape(response) == [
        (scene["under_hidden"].pk, None, 0),
        (scene["deeper"].pk, scene["under_hidden"].pk, 1),
    ]
    assert response.json()["nodes"][0]["post"]["remix_of"] is None  # nor does the topmost node name it
    above = {scene[name].pk for name in ("hidden", "first", "post", "visible_sibling")}
    assert above.isdisjoint(_named(response.json()))


def _named(body) -> set[int]:
    """Every post id the tree itself names: its nodes, their parents."""
    return {node["id"] for node in body["nodes"]} | {node["parent_id"] for node in body["nodes"]}


def test_each_viewer_sees_the_tree_their_audience_allows(client_for, leo, maya, stranger):
    """Leo's private remix of Maya's post: Leo sees it in the tree and the remix of it; others do not."""
    post = GenerationFactory(requester=maya, published_at=timezone.now())
    private = remix(post, leo, post__visibility="private")
    under_private = remix(private, maya)

    assert shape(client_for(leo).get(tree_url(post))) == [
        (post.pk, None, 0),
        (private.pk, post.pk, 1),
        (under_private.pk, private.pk, 2),
    ]
    assert shape(client_for(maya).get(tree_url(post))) == [(post.pk, None, 0)]
    assert shape(client_for(stranger).get(tree_url(post))) == [(post.pk, None, 0)]


def test_a_post_the_viewer_may_not_see_is_not_found(client_for, leo, maya, stranger):
    post = GenerationFactory(requester=maya, published_at=timezone.now(), post__visibility="private")
    remix(post, leo)

    response = client_for(stranger).get(tree_url(post))

    assert (response.status_code, response.json()["code"]) == (404, "post_not_found")
    Post.objects.filter(pk=post.pk).update(visibility="public")
    Block.objects.create(blocker=maya, blocked=stranger)
    assert client_for(stranger).get(tree_url(post)).json()["code"] == "post_not_found"
    draft = GenerationFactory(requester=stranger)
    assert client_for(stranger).get(tree_url(draft)).json()["code"] == "post_not_found"
    assert client_for(stranger).get("/api/v1/posts/987654/remix-tree/").status_code == 404


def test_anonymous_is_asked_to_sign_in_as_for_the_remixes(api_client, leo):
    """Like `/posts/{id}/remixes/`, the API answers only someone signed in."""
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    assert api_client.get(tree_url(post)).status_code == 401
    assert api_client.get(f"/api/v1/posts/{post.pk}/remixes/").status_code == 401


def test_anonymous_gets_the_public_tree_from_the_selector(leo, maya):
    """The rule holds for anonymous viewers too (a share page could show the tree): public posts only."""
    post = GenerationFactory(requester=maya, published_at=timezone.now())
    public = remix(post, leo)
    followers_only = remix(post, leo, post__visibility="followers")
    remix(followers_only, maya)

    tree = remix_tree_of_post(viewer=AnonymousUser(), post_id=post.pk)

    assert [(node.post.pk, node.parent_id, node.depth) for node in tree.nodes] == [
        (post.pk, None, 0),
        (public.pk, post.pk, 1),
    ]
    assert tree.truncated is False


def test_the_count_bound_cuts_the_walk_down_and_says_so(client_for, stranger, leo, monkeypatch):
    monkeypatch.setattr(selectors, "REMIX_TREE_MAX_DESCENDANTS", 4)
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    children = [remix(post, leo) for _ in range(3)]
    for child in children:
        remix(child, leo)

    response = client_for(stranger).get(tree_url(post))

    nodes = shape(response)
    assert len(nodes) == 1 + 4
    assert nodes[1:4] == [(child.pk, post.pk, 1) for child in children]
    assert nodes[4][1] in {child.pk for child in children} and nodes[4][2] == 2
    assert response.json()["truncated"] is True


def test_a_tree_exactly_at_the_count_bound_is_not_truncated(client_for, stranger, leo, monkeypatch):
    monkeypatch.setattr(selectors, "REMIX_TREE_MAX_DESCENDANTS", 3)
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    for _ in range(3):
        remix(post, leo)
    GenerationFactory(requester=leo, remix_of=post)  # a draft: not a post, not counted

    response = client_for(stranger).get(tree_url(post))

    assert len(shape(response)) == 4
    assert response.json()["truncated"] is False


def test_the_walk_up_is_bounded_too(client_for, stranger, leo, monkeypatch):
    monkeypatch.setattr(selectors, "REMIX_TREE_MAX_ANCESTORS", 2)
    first = GenerationFactory(requester=leo, published_at=timezone.now())
    second = remix(first, leo)
    third = remix(second, leo)
    post = remix(third, leo)

    response = client_for(stranger).get(tree_url(post))

    assert shape(response) == [(second.pk, None, -2), (third.pk, second.pk, -1), (post.pk, third.pk, 0)]
    assert response.json()["truncated"] is True
    response = client_for(stranger).get(tree_url(third))
    assert shape(response)[0] == (first.pk, None, -2)
    assert response.json()["truncated"] is False


def test_beyond_the_deepest_level_only_what_hangs_under_a_node_shown_truncates(
    client_for, stranger, leo, maya
):
    """A fourth level under a third-level remix the viewer may not see is not "more of the tree"."""
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    second = remix(remix(post, leo), leo)
    private_third = remix(second, maya, post__visibility="private")
    remix(private_third, leo)

    response = client_for(stranger).get(tree_url(post))

    assert len(shape(response)) == 3
    assert response.json()["truncated"] is False
