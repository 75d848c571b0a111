from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core import health
from core.exceptions import api_not_found
from core.signed_media import serve_signed_media
from core.throttling import throttle_posts_by_address

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("cameos.urls")),
    path("", include("generation.urls")),
    path("", include("feed.urls")),
    path("", include("moderation.urls")),
    path("", include("core.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # Every unknown path under /api/ answers in the API's error shape, in development too (where Django
    # would list the URL patterns in HTML). No `$` and no `.*`: a path with a newline in it (`%0A`) matches.
    re_path(r"^api/", api_not_found),
    path("", include("accounts.web")),
    # The web pages: a public post's share page (/v/<id>), a creator's page (/u/<username>), the home page,
    # and a signed-in person's cameo page (/me/cameo/).
    path("", include("feed.web.urls")),
    path("media-signed/<str:token>", serve_signed_media, name="signed-media"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Staff passwords are a brute-force target like any other: sign-in attempts are limited per address.
    path(
        "admin/login/", throttle_posts_by_address(admin.site.login, scope="admin_login"), name="admin-login"
    ),
    path("admin/", admin.site.urls),
    path("metrics", health.metrics, name="metrics"),
]

handler400 = "core.exceptions.handler400"
handler403 = "core.exceptions.handler403"
handler404 = "core.exceptions.handler404"
handler500 = "core.exceptions.handler500"
