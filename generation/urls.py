from django.urls import path

from generation import apis

urlpatterns = [
    # A cameo owner's appearances: under /cameos/ for the client, served here (they are generations).
    path("cameos/appearances/", apis.AppearanceListAllApi.as_view(), name="cameos-appearances-all"),
    path(
        "cameos/appearances/<int:generation_id>/",
        apis.AppearanceRemoveApi.as_view(),
        name="cameos-appearance-remove",
    ),
    path("cameos/<int:cameo_id>/appearances/", apis.AppearanceListApi.as_view(), name="cameos-appearances"),
    path("provenance/check/", apis.ProvenanceCheckApi.as_view(), name="provenance-check"),
    path("generations/", apis.GenerationListCreateApi.as_view(), name="generations"),
    path("generations/<int:generation_id>/", apis.GenerationDetailApi.as_view(), name="generations-detail"),
    path(
        "generations/<int:generation_id>/cancel/",
        apis.GenerationCancelApi.as_view(),
        name="generations-cancel",
    ),
    path(
        "generations/<int:generation_id>/publish/",
        apis.GenerationPublishApi.as_view(),
        name="generations-publish",
    ),
]
