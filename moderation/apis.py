"""Moderation API: users' reports, and (for the moderator role only) the cases behind them."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from core.serializers import StrictInputSerializer
from moderation import selectors, services
from moderation.models import REPORT_TEXT_MAX_CHARS, Report, ReportReason
from moderation.targets import TARGET_KINDS, target_kind_for, target_public_id


class ReportSerializer(serializers.ModelSerializer):
    """What a reporter sees of their own report: never the case, the other reports or who decided."""

    target_type = serializers.SerializerMethodField()
    target_id = serializers.SerializerMethodField()
    outcome = serializers.CharField(
        read_only=True,
        help_text="Empty while the report is open; once resolved, `dismissed` (no rule found broken) or "
        "`actioned` (the content or account was acted on).",
    )

    class Meta:
        model = Report
        fields = [
            "id",
            "target_type",
            "target_id",
            "reason",
            "text",
            "status",
            "outcome",
            "created_at",
            "resolved_at",
        ]

    def get_target_type(self, report: Report) -> str:
        return target_kind_for(report.target_type).name

    def get_target_id(self, report: Report) -> str:
        return target_public_id(target_kind_for(report.target_type), report.target_id)


class ReportListCreateApi(ListAPIView):
    """Your reports, newest first, with their status and outcome (GET); report a video, a cameo or an
    account (POST, throttled per user: scope `reports`)."""

    serializer_class = ReportSerializer
    throttle_scope = "reports"

    class InputSerializer(StrictInputSerializer):
        target_type = serializers.ChoiceField(choices=sorted(TARGET_KINDS))
        target_id = serializers.CharField(
            max_length=150, help_text="The video's or cameo's id, or the account's username."
        )
        reason = serializers.ChoiceField(choices=ReportReason.choices)
        text = serializers.CharField(max_length=REPORT_TEXT_MAX_CHARS, required=False, allow_blank=True)

    def get_throttles(self) -> list[BaseThrottle]:
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    def get_queryset(self) -> Any:
        return selectors.reports_of_reporter(reporter=self.request.user)

    @extend_schema(
        request=InputSerializer,
        responses={201: ReportSerializer},
        description="409 `report_already_open` (with `extra.report_id`) if you already have an open report "
        "on the same target: one open report per reporter and target. 404 for a target you cannot see; "
        "400 `cannot_report_yourself` for your own account or content.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_create(reporter=request.user, **data.validated_data)
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)
