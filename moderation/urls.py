from django.urls import path

from moderation import apis

urlpatterns = [
    path("reports/", apis.ReportListCreateApi.as_view(), name="reports"),
]
