from django.urls import path

from feed.web import views

urlpatterns = [
    path("", views.home, name="web-home"),
    path("v/<int:post_id>", views.post, name="web-post"),
    path("u/<str:username>", views.profile, name="web-profile"),
    path("me/cameo/", views.cameo_page, name="web-cameo"),
    path(
        "me/cameo/<int:cameo_id>/permission/",
        views.CameoPermissionView.as_view(),
        name="web-cameo-permission",
    ),
    path(
        "me/cameo/requests/<int:request_id>/approve/",
        views.AccessRequestApproveView.as_view(),
        name="web-cameo-request-approve",
    ),
    path(
        "me/cameo/requests/<int:request_id>/deny/",
        views.AccessRequestDenyView.as_view(),
        name="web-cameo-request-deny",
    ),
    path(
        "me/cameo/appearances/<int:generation_id>/take-down/",
        views.AppearanceTakeDownView.as_view(),
        name="web-cameo-take-down",
    ),
]
