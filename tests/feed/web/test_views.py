"""The web pages (feed/web): a public post's share page on the one visibility rule, its signed media and
link-preview tags; a creator's page; the home page; the cameo page's permission branches."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Follow
from accounts.services import block_create
from cameos.models import AccessRequestStatus, CameoAccessRequest
from core.signed_media import signed_media_url
from feed.models import Post
from feed.services import post_delete, post_set_adults_only, post_tag_remove, post_unpublish, post_update
from generation.models import Generation
from generation.services import appearance_remove
from tests.factories import PASSWORD, CameoFactory, GenerationFactory, UserFactory
from tests.feed.conftest import VIEWERS
from tests.feed.web.conftest import VIDEO_BYTES, Page, play, with_media

pytestmark = pytest.mark.django_db

SECRET_PROMPT = "@owner juggles seven zebras at dawn"
# Who sees a public post featuring the cameo owner: everyone but those blocked either way with the author or
# the cameo owner, and those who muted either.
SEES_A_PUBLIC_POST = {"author", "follower", "mutual", "stranger", "cameo_owner", "anonymous", "minor"}


def _minor(person):
    return person("minor", birth_date=date(timezone.now().year - 15, 1, 1))


@pytest.fixture
def matrix(world, person):
    author, cameo, viewers = world
    viewers = {**viewers, "minor": _minor(person)}
    Follow.objects.create(follower=viewers["minor"], followee=author)
    return author, cameo, viewers


def _published(author, cameo, *, visibility="public", caption="") -> Generation:
    generation = with_media(
        GenerationFactory(requester=author, cameos=[cameo], prompt=SECRET_PROMPT, published_at=timezone.now())
    )
    Post.objects.filter(pk=generation.pk).update(visibility=visibility, caption=caption)
    return generation


def _video_url(response) -> str:
    videos = Page(response.content.decode()).videos
    assert len(videos) == 1, response.content[:500]
    return videos[0]["src"]


# --- The share page's visibility matrix ---------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["public", "followers", "mutuals", "private"])
@pytest.mark.parametrize("viewer_kind", [*VIEWERS, "minor"])
def test_the_share_page_shows_a_public_post_to_whom_the_api_shows_it(
    matrix, visitor, visibility, viewer_kind
):
    author, cameo, viewers = matrix
    generation = _published(author, cameo, visibility=visibility)

    response = visitor(viewers[viewer_kind]).get(f"/v/{generation.pk}")

    shown = visibility == "public" and viewer_kind in SEES_A_PUBLIC_POST
    assert response.status_code == (200 if shown else 404)
    assert response["Content-Type"].startswith("text/html")
    if not shown:
        assert b"Not found" in response.content and b"<video" not in response.content


@pytest.mark.parametrize("viewer_kind", sorted(SEES_A_PUBLIC_POST))
def test_the_page_s_media_link_plays_with_byte_ranges_for_whom_the_page_is_shown(
    matrix, visitor, viewer_kind
):
    author, cameo, viewers = matrix
    generation = _published(author, cameo)

    url = _video_url(visitor(viewers[viewer_kind]).get(f"/v/{generation.pk}"))

    assert url.startswith("http://testserver/media-signed/")
    whole = play(url)
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == VIDEO_BYTES
    part = play(url, HTTP_RANGE="bytes=4-11")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 4-11/{len(VIDEO_BYTES)}"
    assert b"".join(part.streaming_content) == VIDEO_BYTES[4:12]


@pytest.mark.parametrize("viewer_kind", sorted(set(VIEWERS) - SEES_A_PUBLIC_POST))
def test_a_media_link_bound_to_a_viewer_the_post_is_hidden_from_does_not_play(matrix, viewer_kind):
    """The page hands such a viewer no link at all; one made for them anyway (an older link, from before
    the block or mute) is refused by the guard, which asks about the viewer the link was handed to."""
    author, cameo, viewers = matrix
    generation = _published(author, cameo)
    request = RequestFactory().get("/")

    url = signed_media_url(
        generation.video.name, 3600, request=request, viewer_id=viewers[viewer_kind].pk, shareable=True
    )

    assert play(url).status_code == 404


def test_a_link_handed_to_a_follower_stops_when_the_post_leaves_their_audience(matrix, visitor, client_for):
    author, cameo, viewers = matrix
    generation = _published(author, cameo, visibility="followers")
    follower_link = client_for(viewers["follower"]).get(f"/api/v1/posts/{generation.pk}/").json()["video_url"]
    assert play(follower_link).status_code == 200
    stranger_link = signed_media_url(
        generation.video.name, 300, request=RequestFactory().get("/"), viewer_id=viewers["stranger"].pk
    )
    assert play(stranger_link).status_code == 404  # the generation rule alone would have served it

    post_update(author=author, post_id=generation.pk, visibility="private")

    assert play(follower_link).status_code == 404


def test_an_anonymous_link_stops_when_the_video_is_taken_down(matrix, visitor):
    author, cameo, viewers = matrix
    generation = _published(author, cameo)
    url = _video_url(visitor(None).get(f"/v/{generation.pk}"))
    assert play(url).status_code == 200

    appearance_remove(owner=viewers["cameo_owner"], generation_id=generation.pk)

    assert play(url).status_code == 404
    assert visitor(None).get(f"/v/{generation.pk}").status_code == 404


def test_share_page_links_live_a_day_for_crawlers_and_other_links_an_hour(matrix, visitor, monkeypatch):
    author, cameo, _viewers = matrix
    generation = _published(author, cameo)
    url = _video_url(visitor(None).get(f"/v/{generation.pk}"))
    short = signed_media_url(generation.video.name, 300, request=RequestFactory().get("/"), viewer_id=None)
    now = timezone.now().timestamp()

    monkeypatch.setattr("time.time", lambda: now + 3 * 3600)
    assert play(url).status_code == 200
    assert play(short).status_code == 403

    monkeypatch.setattr("time.time", lambda: now + 25 * 3600)
    assert play(url).status_code == 403


@pytest.mark.parametrize(
    "takes_it_away",
    ["unpublished", "taken_down", "tag_removed", "deleted", "consent_withdrawn", "requester_deactivated"],
)
def test_a_post_that_is_no_longer_up_is_a_404_page(matrix, visitor, takes_it_away):
    author, cameo, viewers = matrix
    generation = _published(author, cameo)
    url = _video_url(visitor(None).get(f"/v/{generation.pk}"))
    if takes_it_away == "unpublished":
        post_unpublish(author=author, post_id=generation.pk)
    elif takes_it_away == "taken_down":
        appearance_remove(owner=viewers["cameo_owner"], generation_id=generation.pk)
    elif takes_it_away == "tag_removed":
        post_tag_remove(owner=viewers["cameo_owner"], post_id=generation.pk)
    elif takes_it_away == "deleted":
        post_delete(author=author, post_id=generation.pk)
    elif takes_it_away == "consent_withdrawn":  # the cameo owner blocks the author
        block_create(blocker=viewers["cameo_owner"], blocked=author)
    else:
        author.is_active = False
        author.save(update_fields=["is_active"])

    for viewer in (None, viewers["follower"], viewers["cameo_owner"]):
        response = visitor(viewer).get(f"/v/{generation.pk}")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")
    assert play(url).status_code in (403, 404)


def test_a_post_for_adults_only_is_hidden_from_minors_and_anonymous_visitors(matrix, visitor):
    author, cameo, viewers = matrix
    generation = _published(author, cameo)

    post_set_adults_only(post_id=generation.pk, adults_only=True)

    assert visitor(viewers["minor"]).get(f"/v/{generation.pk}").status_code == 404
    assert visitor(None).get(f"/v/{generation.pk}").status_code == 404
    assert visitor(viewers["stranger"]).get(f"/v/{generation.pk}").status_code == 200


def test_an_unknown_post_is_the_same_404_page(visitor, db):
    response = visitor(None).get("/v/987654321")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Not found" in response.content


# --- What the share page shows --------------------------------------------------------------------------


def test_the_share_page_carries_open_graph_and_twitter_tags_with_absolute_urls(matrix, visitor):
    author, cameo, _viewers = matrix
    generation = _published(author, cameo, caption="Look @stranger #Zebras")

    page = Page(visitor(None).get(f"/v/{generation.pk}").content.decode())

    meta = page.meta
    assert meta["og:type"] == "video.other"
    assert meta["og:title"] == "Author (@author) on Sora Social"
    assert meta["og:description"] == "Look @stranger #Zebras"
    assert meta["og:url"] == f"http://testserver/v/{generation.pk}"
    assert meta["og:video"] == page.videos[0]["src"]
    assert meta["og:video"].startswith("http://testserver/media-signed/")
    assert meta["og:video:type"] == "video/mp4"
    # The factory's prompt asks for the default 720p 9:16.
    assert (meta["og:video:width"], meta["og:video:height"]) == ("720", "1280")
    assert meta["og:image"].startswith("http://testserver/media-signed/")
    assert meta["og:image"] == page.videos[0]["poster"]
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["twitter:image"] == meta["og:image"]
    assert play(meta["og:image"]).status_code == 200


def test_the_share_page_shows_the_post_and_nothing_private(matrix, visitor, person):
    author, cameo, viewers = matrix
    generation = _published(author, cameo, caption="")
    post_update(author=author, post_id=generation.pk, caption="With @owner and @nobody_here #moon")
    Post.objects.filter(pk=generation.pk).update(like_count=3, comment_count=2)
    cameo.guidance = "always wears a red scarf"
    cameo.restricted_categories = ["political"]
    cameo.forbidden_words = ["pineapple"]
    cameo.save()

    response = visitor(viewers["stranger"]).get(f"/v/{generation.pk}")
    html = response.content.decode()
    page = Page(html)

    video = page.videos[0]
    assert {"controls", "playsinline", "poster", "src"} <= set(video)
    assert "/u/owner" in page.links  # the mention, and the cameo tag
    assert "/u/author" in page.links  # the creator
    assert "/u/nobody_here" not in page.links  # not a resolved mention: plain text
    assert '<span class="hashtag">#moon</span>' in html
    assert "3 likes" in html and "2 comments" in html
    assert "@owner" in html
    for private in ("zebras", "juggles", "red scarf", "political", "pineapple", '"shots"', "engine", "seed"):
        assert private not in html.lower(), private


def test_the_share_page_link_s_shape_is_the_one_the_share_api_hands_out(client_for, matrix, visitor):
    author, cameo, viewers = matrix
    generation = _published(author, cameo)

    url = client_for(viewers["stranger"]).post(f"/api/v1/posts/{generation.pk}/share/").json()["url"]

    assert visitor(None).get(url.removeprefix("http://testserver")).status_code == 200


# --- A creator's page and the home page ---------------------------------------------------------------


def test_a_creator_s_page_lists_their_public_posts_with_posters_linking_to_share_pages(matrix, visitor):
    author, cameo, viewers = matrix
    public = _published(author, cameo)
    followers_only = _published(author, cameo, visibility="followers")

    response = visitor(viewers["follower"]).get("/u/author")

    assert response.status_code == 200
    page = Page(response.content.decode())
    assert f"/v/{public.pk}" in page.links
    assert f"/v/{followers_only.pk}" not in page.links  # no share page: not public
    assert all(src.startswith("http://testserver/media-signed/") for src in page.images)


def test_a_creator_s_page_pages_with_a_cursor(person, visitor):
    author = person("author")
    posts = [GenerationFactory(requester=author, published_at=timezone.now()) for _ in range(14)]

    first = visitor(None).get("/u/author")
    next_link = re.search(r'href="(\?cursor=[^"]+)"', first.content.decode()).group(1)
    second = visitor(None).get("/u/author" + next_link.replace("&amp;", "&"))

    shown = [
        link
        for response in (first, second)
        for link in Page(response.content.decode()).links
        if link.startswith("/v/")
    ]
    assert shown == [f"/v/{post.pk}" for post in reversed(posts)]
    assert visitor(None).get("/u/author?cursor=not-one").status_code == 404


@pytest.mark.parametrize("who", ["unknown", "inactive", "blocked_by_author", "blocks_author"])
def test_a_creator_s_page_is_a_404_for_nobody_the_inactive_and_blocks_either_way(matrix, visitor, who):
    author, cameo, viewers = matrix
    _published(author, cameo)
    viewer = viewers.get(who)
    username = "nobody" if who == "unknown" else "author"
    if who == "inactive":
        author.is_active = False
        author.save(update_fields=["is_active"])

    response = visitor(viewer).get(f"/u/{username}")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_home_page_lists_recent_public_posts_the_visitor_may_see(matrix, visitor):
    author, cameo, viewers = matrix
    public = _published(author, cameo)
    private = _published(author, cameo, visibility="private")

    for viewer, sees in ((None, True), (viewers["blocks_cameo_owner"], False), (viewers["author"], True)):
        links = Page(visitor(viewer).get("/").content.decode()).links
        assert (f"/v/{public.pk}" in links) is sees
        assert f"/v/{private.pk}" not in links


# --- The cameo page ---------------------------------------------------------------------------------------


@pytest.fixture
def owner_with_requests(person):
    """Maya's cameo (people she approves may use it), a pending request from Zoe, and Zoe's draft with Maya in it."""
    maya, zoe = person("maya"), person("zoe")
    cameo = CameoFactory(owner=maya, permission="approved")
    pending = CameoAccessRequest.objects.create(cameo=cameo, requester=zoe, message="for my birthday video")
    draft = with_media(GenerationFactory(requester=zoe, cameos=[cameo], prompt="@maya sings"))
    return maya, zoe, cameo, pending, draft


def test_anonymous_visitors_are_sent_to_sign_in(visitor, db):
    for method, path in (("get", "/me/cameo/"), ("post", "/me/cameo/1/permission/")):
        response = getattr(visitor(None), method)(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_signing_in_without_a_next_page_lands_on_the_cameo_page(db):
    UserFactory(username="leo")
    response = Client().post("/login/", {"username": "leo", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/me/cameo/"


def test_the_cameo_page_shows_permission_requests_and_appearances(owner_with_requests, visitor):
    maya, _zoe, _cameo, pending, draft = owner_with_requests

    response = visitor(maya).get("/me/cameo/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="approved" selected>' in html
    assert f'data-testid="request-{pending.pk}"' in html and "for my birthday video" in html
    assert f'data-testid="appearance-{draft.pk}"' in html and "@zoe" in html
    # The owner may play someone else's draft with their likeness, to decide about it.
    assert re.search(rf'data-testid="appearance-{draft.pk}">\s*<td>\s*<video', html)


def test_someone_without_a_cameo_is_told_how_to_make_one(person, visitor):
    response = visitor(person("leo")).get("/me/cameo/")

    assert b'data-testid="no-cameo"' in response.content
    assert b"in the Sora Social app" in response.content


def test_approving_and_denying_use_the_cameo_services(owner_with_requests, person, visitor):
    maya, _zoe, cameo, pending, _draft = owner_with_requests
    other = CameoAccessRequest.objects.create(cameo=cameo, requester=person("leo"))
    client = visitor(maya)

    approved = client.post(f"/me/cameo/requests/{pending.pk}/approve/", follow=True)
    denied = client.post(f"/me/cameo/requests/{other.pk}/deny/", follow=True)

    assert approved.redirect_chain == [("/me/cameo/", 302)]
    assert "@zoe may now use @maya." in approved.content.decode()
    assert "@leo may not use @maya." in denied.content.decode()
    assert CameoAccessRequest.objects.get(pk=pending.pk).status == AccessRequestStatus.APPROVED
    assert CameoAccessRequest.objects.get(pk=other.pk).status == AccessRequestStatus.DENIED


def test_changing_who_may_use_the_cameo_goes_through_the_service(owner_with_requests, visitor, person):
    """Narrowing to "only me" takes down what people made with it (the service's signal), as the API does."""
    maya, _zoe, cameo, pending, draft = owner_with_requests
    CameoAccessRequest.objects.filter(pk=pending.pk).update(status=AccessRequestStatus.APPROVED)

    response = visitor(maya).post(f"/me/cameo/{cameo.pk}/permission/", {"permission": "only_me"}, follow=True)

    assert "Who may use @maya: Only me." in response.content.decode()
    cameo.refresh_from_db()
    draft.refresh_from_db()
    assert cameo.permission == "only_me"
    assert draft.removed_reason == "consent_withdrawn"


def test_a_teen_cannot_share_their_cameo_with_everyone(person, visitor):
    teen = _minor(person)
    cameo = CameoFactory(owner=teen, permission="mutuals")

    response = visitor(teen).post(
        f"/me/cameo/{cameo.pk}/permission/", {"permission": "everyone"}, follow=True
    )

    assert "Teen accounts cannot share their cameo with everyone." in response.content.decode()
    cameo.refresh_from_db()
    assert cameo.permission == "mutuals"


def test_an_unknown_permission_is_refused_with_a_message(owner_with_requests, visitor):
    maya, _zoe, cameo, _pending, _draft = owner_with_requests

    response = visitor(maya).post(f"/me/cameo/{cameo.pk}/permission/", {"permission": "anyone"}, follow=True)

    assert "Choose who may use your cameo." in response.content.decode()
    cameo.refresh_from_db()
    assert cameo.permission == "approved"


def test_taking_an_appearance_down_deletes_it_and_its_share_page(owner_with_requests, visitor):
    maya, zoe, cameo, _pending, _draft = owner_with_requests
    published = with_media(GenerationFactory(requester=zoe, cameos=[cameo], published_at=timezone.now()))
    assert visitor(None).get(f"/v/{published.pk}").status_code == 200

    response = visitor(maya).post(f"/me/cameo/appearances/{published.pk}/take-down/", follow=True)

    assert f"Video {published.pk} is taken down" in response.content.decode()
    published.refresh_from_db()
    assert published.removed_reason == "removed_by_cameo_owner"
    assert visitor(None).get(f"/v/{published.pk}").status_code == 404
    assert f'data-testid="appearance-{published.pk}"' in response.content.decode()  # still on the record


def test_another_person_s_cameo_requests_and_appearances_are_not_reachable(
    owner_with_requests, visitor, person
):
    _maya, zoe, cameo, pending, draft = owner_with_requests
    intruder = visitor(person("intruder"))

    page = intruder.get("/me/cameo/").content.decode()
    responses = [
        intruder.post(f"/me/cameo/{cameo.pk}/permission/", {"permission": "everyone"}),
        intruder.post(f"/me/cameo/requests/{pending.pk}/approve/"),
        intruder.post(f"/me/cameo/requests/{pending.pk}/deny/"),
        intruder.post(f"/me/cameo/appearances/{draft.pk}/take-down/"),
        visitor(zoe).post(f"/me/cameo/appearances/{draft.pk}/take-down/"),  # its maker is no cameo owner
    ]

    assert "for my birthday video" not in page and f"appearance-{draft.pk}" not in page
    assert [response.status_code for response in responses] == [404] * 5
    assert all(response["Content-Type"].startswith("text/html") for response in responses)
    cameo.refresh_from_db()
    draft.refresh_from_db()
    assert cameo.permission == "approved"
    assert CameoAccessRequest.objects.get(pk=pending.pk).status == AccessRequestStatus.PENDING
    assert draft.removed_at is None


def test_the_cameo_page_s_forms_need_the_csrf_token(owner_with_requests):
    maya, _zoe, _cameo, pending, _draft = owner_with_requests
    client = Client(enforce_csrf_checks=True)
    client.force_login(maya)

    response = client.post(f"/me/cameo/requests/{pending.pk}/approve/")

    assert response.status_code == 403
    assert CameoAccessRequest.objects.get(pk=pending.pk).status == AccessRequestStatus.PENDING


def test_the_page_s_actions_are_post_only(owner_with_requests, visitor):
    maya, _zoe, _cameo, pending, draft = owner_with_requests

    assert visitor(maya).get(f"/me/cameo/requests/{pending.pk}/approve/").status_code == 405
    assert visitor(maya).get(f"/me/cameo/appearances/{draft.pk}/take-down/").status_code == 405


@pytest.mark.parametrize("path", ["/", "/u/author"])
def test_a_page_of_posts_costs_the_same_queries_whatever_its_length(person, visitor, path):
    author = person("author")
    owner = person("owner")
    cameo = CameoFactory(owner=owner, permission="everyone")

    def queries_for(count: int) -> int:
        for _ in range(count):
            with_media(GenerationFactory(requester=author, cameos=[cameo], published_at=timezone.now()))
        with CaptureQueriesContext(connection) as captured:
            assert visitor(None).get(path).status_code == 200
        return len(captured)

    assert queries_for(1) == queries_for(11)
