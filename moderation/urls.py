from django.urls import path

from moderation import apis, appeal_apis

urlpatterns = [
    path("reports/", apis.ReportListCreateApi.as_view(), name="reports"),
    path("me/decisions/", appeal_apis.MyDecisionListApi.as_view(), name="me-decisions"),
    path(
        "decisions/<int:decision_id>/appeal/",
        appeal_apis.DecisionAppealApi.as_view(),
        name="decisions-appeal",
    ),
    # Moderators only (every route named moderation-*; tests/moderation/test_access.py walks them).
    path("moderation/cases/", apis.CaseQueueApi.as_view(), name="moderation-cases"),
    path("moderation/cases/<int:case_id>/", apis.CaseDetailApi.as_view(), name="moderation-case"),
    path("moderation/cases/<int:case_id>/claim/", apis.CaseClaimApi.as_view(), name="moderation-case-claim"),
    path(
        "moderation/cases/<int:case_id>/decision/",
        apis.CaseDecideApi.as_view(),
        name="moderation-case-decision",
    ),
    path(
        "moderation/cases/<int:case_id>/appeal-decision/",
        appeal_apis.CaseAppealDecideApi.as_view(),
        name="moderation-case-appeal-decision",
    ),
    path(
        "moderation/cases/<int:case_id>/notes/",
        apis.CaseNoteCreateApi.as_view(),
        name="moderation-case-notes",
    ),
    path("moderation/audit/", apis.AuditLogApi.as_view(), name="moderation-audit"),
    path("moderation/audit/export/", apis.AuditLogExportApi.as_view(), name="moderation-audit-export"),
]
