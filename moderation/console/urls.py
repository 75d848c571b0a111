"""The console's routes, included at /moderation/. Every one is named `moderation-console-*`:
tests/moderation/test_console_access.py walks them, so a new page cannot skip the moderator check."""

from django.urls import path

from moderation.console import views

urlpatterns = [
    path("", views.QueueView.as_view(), name="moderation-console-queue"),
    path("cases/<int:case_id>/", views.CaseView.as_view(), name="moderation-console-case"),
    path("cases/<int:case_id>/claim/", views.CaseClaimView.as_view(), name="moderation-console-case-claim"),
    path(
        "cases/<int:case_id>/release/",
        views.CaseReleaseView.as_view(),
        name="moderation-console-case-release",
    ),
    path(
        "cases/<int:case_id>/decision/",
        views.CaseDecideView.as_view(),
        name="moderation-console-case-decision",
    ),
    path(
        "cases/<int:case_id>/appeal-decision/",
        views.CaseAppealDecideView.as_view(),
        name="moderation-console-case-appeal-decision",
    ),
    path("cases/<int:case_id>/notes/", views.CaseNoteView.as_view(), name="moderation-console-case-notes"),
    path("audit/", views.AuditView.as_view(), name="moderation-console-audit"),
]
