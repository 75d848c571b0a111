from django.urls import path

from cameos import apis

urlpatterns = [
    path("cameos/", apis.CameoListCreateApi.as_view(), name="cameos"),
    path("cameos/characters/", apis.CharacterCreateApi.as_view(), name="cameos-characters"),
    path("cameos/challenges/", apis.ChallengeCreateApi.as_view(), name="cameos-challenges"),
    path("cameos/uploads/", apis.UploadStartApi.as_view(), name="cameos-uploads"),
    path("cameos/uploads/<uuid:upload_id>/", apis.UploadChunkApi.as_view(), name="cameos-upload"),
    path(
        "cameos/uploads/<uuid:upload_id>/complete/",
        apis.UploadCompleteApi.as_view(),
        name="cameos-upload-complete",
    ),
    path("cameos/access-requests/", apis.AccessRequestListApi.as_view(), name="cameos-access-requests"),
    path(
        "cameos/access-requests/<int:request_id>/",
        apis.AccessRequestRemoveApi.as_view(),
        name="cameos-access-request",
    ),
    path(
        "cameos/access-requests/<int:request_id>/approve/",
        apis.AccessRequestApproveApi.as_view(),
        name="cameos-access-request-approve",
    ),
    path(
        "cameos/access-requests/<int:request_id>/deny/",
        apis.AccessRequestDenyApi.as_view(),
        name="cameos-access-request-deny",
    ),
    path("cameos/<int:cameo_id>/", apis.CameoDetailApi.as_view(), name="cameos-detail"),
    path("cameos/<int:cameo_id>/card/", apis.CameoCardApi.as_view(), name="cameos-card"),
    path("cameos/<int:cameo_id>/media/", apis.CameoMediaApi.as_view(), name="cameos-media"),
    path(
        "cameos/<int:cameo_id>/access-requests/",
        apis.AccessRequestCreateApi.as_view(),
        name="cameos-request-access",
    ),
]
