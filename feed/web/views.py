"""Views of the web pages. They stay thin: a selector reads what a page shows (the one visibility rule,
`feed.selectors.posts_visible_to`, for posts; the cameo app's own selectors for a cameo), a service does
what a form asks (the cameo app's and the generation app's services, never a second copy of their rules),
and anything hidden from the visitor is the same HTML 404 as what does not exist."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import user_get_visible
from cameos import selectors as cameo_selectors
from cameos import services as cameo_services
from cameos.models import AccessRequestStatus, CameoPermission
from core.exceptions import ApplicationError, not_found_page
from core.signed_media import public_url, signed_media_url
from feed import selectors
from feed.captions import caption_parts
from feed.pagination import keyset_page
from generation import selectors as generation_selectors
from generation import services as generation_services
from generation.models import Generation

POSTS_PER_PAGE = 12
APPEARANCES_PER_PAGE = 20
DESCRIPTION_MAX_CHARS = 200


def _media_url(
    request: HttpRequest,
    generation: Generation,
    name: str,
    *,
    share: bool = False,
    read_as_visible: bool = True,
) -> str | None:
    """A signed link to one of `generation`'s files for this visitor (anonymous: bound to nobody, so the
    guard asks what anonymous may play). `share`: a share page's link, living a day for link-preview
    crawlers (SHARE_MEDIA_URL_MAX_AGE_SECONDS); otherwise the usual short one."""
    playable = generation_selectors.generation_media_playable_by(
        generation=generation, viewer=request.user, audience_admits=read_as_visible
    )
    if not name or not playable:
        return None
    lifetime = settings.SHARE_MEDIA_URL_MAX_AGE_SECONDS if share else settings.MEDIA_URL_EXPIRY_SECONDS
    return signed_media_url(name, lifetime, request=request, viewer_id=request.user.pk, shareable=share)


def _cards(request: HttpRequest, posts: list[Generation]) -> list[dict[str, Any]]:
    """What a list of posts shows of each: a poster linking to its share page."""
    return [
        {"post": post, "poster_url": _media_url(request, post, post.poster.name if post.poster else "")}
        for post in posts
    ]


def _post_list(request: HttpRequest, posts: Any) -> tuple[list[dict[str, Any]], str | None]:
    page, next_cursor = keyset_page(posts, cursor=request.GET.get("cursor"), size=POSTS_PER_PAGE)
    return _cards(request, page), next_cursor


@require_GET
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    """Recent public posts the visitor may see, newest first."""
    try:
        cards, next_cursor = _post_list(request, selectors.public_posts(viewer=request.user))
    except ApplicationError:  # a cursor this page did not hand out
        return not_found_page(request)
    return render(request, "feed/home.html", {"cards": cards, "next_cursor": next_cursor})


@require_GET
@never_cache
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """A creator's public posts that the visitor may see, newest first."""
    try:
        author = user_get_visible(viewer=request.user, username=username)
        cards, next_cursor = _post_list(
            request, selectors.profile_public_posts(viewer=request.user, author=author)
        )
    except ApplicationError:
        return not_found_page(request)
    return render(
        request, "feed/profile.html", {"author": author, "cards": cards, "next_cursor": next_cursor}
    )


@require_GET
@never_cache
def post(request: HttpRequest, post_id: int) -> HttpResponse:
    """A public post's share page: the player, what its author published, and link-preview tags (Open
    Graph, Twitter card) with absolute, signed media links."""
    try:
        generation = selectors.public_post_get(viewer=request.user, post_id=post_id)
    except ApplicationError:
        return not_found_page(request)
    author = generation.requester
    caption = generation.post.caption
    title = f"{author.display_name or author.username} (@{author.username}) on Sora Social"
    description = caption or f"A video by @{author.username} on Sora Social."
    if len(description) > DESCRIPTION_MAX_CHARS:
        description = description[: DESCRIPTION_MAX_CHARS - 1].rstrip() + "…"
    size = generation_selectors.generation_frame_size(generation=generation)
    context = {
        "generation": generation,
        "author": author,
        "caption": caption_parts(caption, mentions=generation.post.mentions),
        "cameos": sorted(generation.cameo_uses.all(), key=lambda use: use.pk),
        "title": title,
        "description": description,
        "page_url": public_url(request, reverse("web-post", kwargs={"post_id": generation.pk})),
        "video_url": _media_url(
            request, generation, generation.video.name if generation.video else "", share=True
        ),
        "poster_url": _media_url(
            request, generation, generation.poster.name if generation.poster else "", share=True
        ),
        "width": size[0] if size else None,
        "height": size[1] if size else None,
    }
    return render(request, "feed/post.html", context)


# --- The cameo page: a signed-in person's own cameos -----------------------------------------------------


@require_GET
@never_cache
@login_required
def cameo_page(request: HttpRequest) -> HttpResponse:
    """Who may use the visitor's cameos, the access requests waiting for an answer, and every video that
    used their likeness (other people's drafts included), each with a take-down button."""
    owner = request.user
    appearances = Paginator(
        generation_selectors.appearances_of_owner(owner=owner).prefetch_related("cameo_uses"),
        APPEARANCES_PER_PAGE,
    ).get_page(request.GET.get("page"))
    rows = [
        {
            "generation": generation,
            "video_url": _media_url(
                request, generation, generation.video.name if generation.video else "", read_as_visible=False
            ),
            "poster_url": _media_url(
                request,
                generation,
                generation.poster.name if generation.poster else "",
                read_as_visible=False,
            ),
            "is_up": generation.removed_at is None and generation.deleted_at is None,
        }
        for generation in appearances
    ]
    context = {
        "cameos": [
            {"cameo": cameo, "mention": cameo_selectors.cameo_mention(cameo)}
            for cameo in cameo_selectors.cameos_of_owner(owner=owner).select_related("owner")
        ],
        "permissions": CameoPermission.choices,
        "pending": cameo_selectors.access_requests_for_owner(
            owner=owner, status=AccessRequestStatus.PENDING
        ).order_by("created_at"),
        "appearances": appearances,
        "appearance_rows": rows,
    }
    return render(request, "feed/cameo.html", context)


def _back_to_cameo_page() -> HttpResponse:
    return redirect("web-cameo")


def _refused(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    """What is not the visitor's is not found (as for a URL that does not exist); any other refusal is
    said on the page."""
    if error.status == 404:
        return not_found_page(request)
    messages.error(request, error.message)
    return _back_to_cameo_page()


class CameoAction(LoginRequiredMixin, View):
    """A form on the cameo page: POST only (CSRF-checked by the middleware), for a signed-in person (anyone
    else is sent to sign in), answered with a redirect back to the page and a message."""

    http_method_names = ["post"]


class CameoPermissionView(CameoAction):
    def post(self, request: HttpRequest, cameo_id: int) -> HttpResponse:
        permission = request.POST.get("permission", "")
        try:
            cameo = cameo_selectors.cameo_get_owned(owner=request.user, cameo_id=cameo_id)
            if permission not in CameoPermission.values:
                messages.error(request, "Choose who may use your cameo.")
                return _back_to_cameo_page()
            cameo = cameo_services.cameo_update_settings(cameo=cameo, permission=permission)
        except ApplicationError as error:
            return _refused(request, error)
        label = CameoPermission(cameo.permission).label
        messages.success(request, f"Who may use @{cameo_selectors.cameo_mention(cameo)}: {label}.")
        return _back_to_cameo_page()


class AccessRequestDecideView(CameoAction):
    approve = True

    def post(self, request: HttpRequest, request_id: int) -> HttpResponse:
        try:
            decided = cameo_services.access_request_decide(
                owner=request.user, request_id=request_id, approve=self.approve
            )
        except ApplicationError as error:
            return _refused(request, error)
        verb = "may now use" if self.approve else "may not use"
        mention = cameo_selectors.cameo_mention(decided.cameo)
        messages.success(request, f"@{decided.requester.username} {verb} @{mention}.")
        return _back_to_cameo_page()


class AccessRequestApproveView(AccessRequestDecideView):
    approve = True


class AccessRequestDenyView(AccessRequestDecideView):
    approve = False


class AppearanceTakeDownView(CameoAction):
    def post(self, request: HttpRequest, generation_id: int) -> HttpResponse:
        try:
            generation_services.appearance_remove(owner=request.user, generation_id=generation_id)
        except ApplicationError as error:
            return _refused(request, error)
        messages.success(
            request, f"Video {generation_id} is taken down: its media is deleted and it is out of every feed."
        )
        return _back_to_cameo_page()
