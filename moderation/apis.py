"""Moderation API: users' reports, and (for the moderator role only) the cases behind them."""

import csv
import itertools
import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.fields import StrictBooleanField, StrictIntegerField
from core.pagination import CursorPagination
from core.serializers import StrictInputSerializer
from moderation import selectors, services
from moderation.audit import AuditAction
from moderation.errors import ModerationError
from moderation.models import (
    NOTE_TEXT_MAX_CHARS,
    REPORT_TEXT_MAX_CHARS,
    Appeal,
    AuditEntry,
    Case,
    CaseKind,
    CaseNote,
    CaseStatus,
    Decision,
    DecisionAction,
    Flag,
    FlagSource,
    Report,
    ReportReason,
)
from moderation.permissions import IsModerationAdmin, IsModerator
from moderation.targets import TARGET_KINDS, case_target_public_id, target_kind_for, target_public_id


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


# --- Moderators only -----------------------------------------------------------------------------------


def _claim_is_live(case: Case) -> bool:
    return (
        case.status == CaseStatus.CLAIMED
        and case.claim_expires_at is not None
        and case.claim_expires_at > timezone.now()
    )


class CaseSummarySerializer(serializers.ModelSerializer):
    """A row of the moderators' queue: `kind` says what it asks, a `review` of a target (its reports and
    flags) or an `appeal` of a decision (then `appeal` says which)."""

    appeal_id = serializers.IntegerField(
        source="appeal.id", read_only=True, allow_null=True, help_text="Kind `appeal`: the appeal; else null."
    )
    appealed_decision_id = serializers.IntegerField(
        source="appeal.decision_id", read_only=True, allow_null=True, help_text="Kind `appeal`: what it appeals."
    )
    appealed_case_id = serializers.IntegerField(
        source="appeal.decision.case_id",
        read_only=True,
        allow_null=True,
        help_text="Kind `appeal`: the case that decision closed.",
    )
    target_type = serializers.SerializerMethodField()
    target_id = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField(help_text="The username the case is about, if any.")
    status = serializers.SerializerMethodField(
        help_text="`open`, `claimed` (a live claim; an expired one reads `open`) or `resolved`."
    )
    claimed_by = serializers.SerializerMethodField(help_text="The moderator holding a live claim.")
    claim_expires_at = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "kind",
            "target_type",
            "target_id",
            "subject",
            "status",
            "priority",
            "report_count",
            "reach",
            "claimed_by",
            "claim_expires_at",
            "opened_at",
            "resolved_at",
            "appeal_id",
            "appealed_decision_id",
            "appealed_case_id",
        ]

    def get_target_type(self, case: Case) -> str:
        return target_kind_for(case.target_type).name

    def get_target_id(self, case: Case) -> str:
        return case_target_public_id(case)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_subject(self, case: Case) -> str | None:
        return case.subject.username if case.subject is not None else None

    def get_status(self, case: Case) -> str:
        if case.status == CaseStatus.CLAIMED and not _claim_is_live(case):
            return str(CaseStatus.OPEN)
        return str(case.status)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_claimed_by(self, case: Case) -> str | None:
        return case.claimed_by.username if _claim_is_live(case) and case.claimed_by else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_claim_expires_at(self, case: Case) -> str | None:
        return case.claim_expires_at.isoformat() if _claim_is_live(case) and case.claim_expires_at else None


class CaseReportSerializer(serializers.ModelSerializer):
    reporter = serializers.CharField(source="reporter.username", read_only=True)

    class Meta:
        model = Report
        fields = ["id", "reporter", "reason", "text", "status", "outcome", "created_at"]


class CaseFlagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flag
        fields = ["id", "source", "reason", "evidence", "priority", "created_at"]


class ModeratorAppealSerializer(serializers.ModelSerializer):
    """An appeal as moderators see it: its queue item (`case_id`), the user's text, the outcome, the reply
    and who decided it."""

    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = Appeal
        fields = ["id", "case_id", "decision_id", "status", "text", "reply", "decided_by", "created_at",
                  "decided_at"]  # fmt: skip

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by(self, appeal: Appeal) -> str | None:
        return appeal.decided_by.username if appeal.decided_by else None


class DecisionSerializer(serializers.ModelSerializer):
    """A decision as moderators see it (users are told the action, rule and reason, never the moderator),
    with its appeal (at most one) in `appeals`: the case's history shows appeals and their outcome."""

    moderator = serializers.SerializerMethodField(help_text="Null for an automatic decision.")
    appeals = serializers.SerializerMethodField(help_text="Its appeal, if any (at most one).")

    class Meta:
        model = Decision
        fields = ["id", "action", "rule", "reason", "strike", "suspended_until", "moderator", "created_at",
                  "reversed_at", "appeals"]  # fmt: skip

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_moderator(self, decision: Decision) -> str | None:
        return decision.moderator.username if decision.moderator else None

    @extend_schema_field(ModeratorAppealSerializer(many=True))
    def get_appeals(self, decision: Decision) -> Any:
        appeal = getattr(decision, "appeal", None)  # an absent reverse one-to-one raises AttributeError
        return ModeratorAppealSerializer([appeal] if appeal is not None else [], many=True).data


class AppealItemSerializer(ModeratorAppealSerializer):
    """On an appeal's queue item: the appeal and the decision it appeals (whose case is among
    `earlier_cases_on_target`)."""

    decision = DecisionSerializer(read_only=True)

    class Meta(ModeratorAppealSerializer.Meta):
        fields = [*ModeratorAppealSerializer.Meta.fields, "decision"]


class EarlierCaseSerializer(CaseSummarySerializer):
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta(CaseSummarySerializer.Meta):
        fields = [*CaseSummarySerializer.Meta.fields, "decisions"]


class CaseNoteSerializer(serializers.ModelSerializer):
    """A private note, for moderators only: no user-facing serializer has a notes field."""

    author = serializers.SerializerMethodField()

    class Meta:
        model = CaseNote
        fields = ["id", "author", "text", "created_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author(self, note: CaseNote) -> str | None:
        return note.author.username if note.author else None


class CaseDetailSerializer(CaseSummarySerializer):
    """A case's whole history in one view: its reports, its flags with their evidence, its decisions with
    their appeals, its private notes, and the earlier cases (appeals included) on the same target and on the
    same user; for an appeal, the appeal and the decision it appeals."""

    reports = CaseReportSerializer(many=True, read_only=True)
    flags = CaseFlagSerializer(many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)
    notes = CaseNoteSerializer(many=True, read_only=True)
    earlier_cases_on_target = serializers.SerializerMethodField()
    earlier_cases_on_subject = serializers.SerializerMethodField()
    appeal = serializers.SerializerMethodField(
        help_text="Kind `appeal`: the appeal, with the decision it appeals (a list of one); kind `review`: "
        "empty (its decisions' appeals are under `decisions`)."
    )
    subject_strikes = serializers.SerializerMethodField(
        help_text="Strikes that count against the subject now (reversed decisions' excluded)."
    )

    class Meta(CaseSummarySerializer.Meta):
        fields = [
            *CaseSummarySerializer.Meta.fields,
            "appeal",
            "subject_strikes",
            "reports",
            "flags",
            "decisions",
            "notes",
            "earlier_cases_on_target",
            "earlier_cases_on_subject",
        ]

    @extend_schema_field(AppealItemSerializer(many=True))
    def get_appeal(self, case: Case) -> Any:
        appeal = getattr(case, "appeal", None)
        return AppealItemSerializer([appeal] if appeal is not None else [], many=True).data

    def get_subject_strikes(self, case: Case) -> int:
        return selectors.strike_count(user_id=case.subject_id) if case.subject_id else 0

    def _earlier(self, case: Case) -> dict[str, list[Case]]:
        # Given by the view (one query each), so that the two fields do not each fetch them.
        return self.context.get("earlier_cases") or selectors.earlier_cases(case=case)

    @extend_schema_field(EarlierCaseSerializer(many=True))
    def get_earlier_cases_on_target(self, case: Case) -> Any:
        return EarlierCaseSerializer(self._earlier(case)["on_target"], many=True).data

    @extend_schema_field(EarlierCaseSerializer(many=True))
    def get_earlier_cases_on_subject(self, case: Case) -> Any:
        return EarlierCaseSerializer(self._earlier(case)["on_subject"], many=True).data


class QueuePagination(CursorPagination):
    # The stored rank, then the id among equals (DRF's stub types `ordering` as a single field).
    ordering = ("queue_key", "id")  # type: ignore[assignment]


class CaseQueueApi(ListAPIView):
    """The moderators' queue: reviews and appeals in one order, most urgent first (severity, report count,
    reach, age), cursor-paginated. Each row's `kind` says which it is."""

    permission_classes = [IsModerator]
    serializer_class = CaseSummarySerializer
    pagination_class = QueuePagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=list(selectors.QUEUE_STATUSES),
                description="Default `unresolved`.",
            ),
            OpenApiParameter("reason", OpenApiTypes.STR, description="Cases with a flag of this reason."),
            OpenApiParameter(
                "source",
                OpenApiTypes.STR,
                enum=FlagSource.values,
                description="Cases with a flag from this source.",
            ),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                enum=CaseKind.values,
                description="`review` (reports and flags on a target) or `appeal` (a user's appeal of a "
                "decision). Default: both, in one order.",
            ),
            OpenApiParameter("target_type", OpenApiTypes.STR, enum=sorted(TARGET_KINDS)),
        ],
        operation_id="moderation_cases_list",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return selectors.cases_for_queue(
            status=params.get("status", "unresolved"),
            reason=params.get("reason", "")[:60],
            source=params.get("source", ""),
            kind=params.get("kind", ""),
            target_type=params.get("target_type", ""),
        )


class CaseDetailApi(APIView):
    permission_classes = [IsModerator]

    @extend_schema(responses={200: CaseDetailSerializer})
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_moderator(case_id=case_id)
        earlier = selectors.earlier_cases(case=case)
        return Response(CaseDetailSerializer(case, context={"earlier_cases": earlier}).data)


class CaseClaimApi(APIView):
    """Claim a case (POST; again to renew the claim) or release your claim (DELETE). A claim lasts
    15 minutes; another moderator's live claim answers 409 `case_claimed`."""

    permission_classes = [IsModerator]

    @extend_schema(request=None, responses={200: CaseSummarySerializer})
    def post(self, request: Request, case_id: int) -> Response:
        case = services.case_claim(moderator=request.user, case_id=case_id)
        return Response(CaseSummarySerializer(case).data)

    @extend_schema(request=None, responses={200: CaseSummarySerializer})
    def delete(self, request: Request, case_id: int) -> Response:
        case = services.case_release(moderator=request.user, case_id=case_id)
        return Response(CaseSummarySerializer(case).data)


class CaseDecideApi(APIView):
    """Decide a review case you hold a claim on. `dismiss`; `remove_content` or `age_restrict` (a video); `warn`, `suspend` (with
    `suspend_days`) or `ban` the user the case is about; `verify_cameo` / `reject_cameo` (a cameo held for
    review). Every action but `dismiss` and `verify_cameo` needs the `rule` broken; any of those may record
    a `strike`; `age_restrict` shows a video to adults only. The user is told the action, rule and reason,
    and reporters the outcome, never who decided. An appeal is decided at its own route (appeal-decision)."""

    permission_classes = [IsModerator]

    class InputSerializer(StrictInputSerializer):
        action = serializers.ChoiceField(choices=DecisionAction.choices)
        rule = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        strike = StrictBooleanField(required=False, default=False)
        suspend_days = StrictIntegerField(required=False, min_value=1, max_value=3650)

    @extend_schema(request=InputSerializer, responses={201: DecisionSerializer})
    def post(self, request: Request, case_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decision = services.case_decide(moderator=request.user, case_id=case_id, **data.validated_data)
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_username", read_only=True, help_text="Empty for an automatic action."
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "case_id",
            "target_type",
            "target_id",
            "reason",
            "details",
        ]


_AUDIT_FILTERS = [
    OpenApiParameter("actor", OpenApiTypes.STR, description="A username, or `automatic`."),
    OpenApiParameter("action", OpenApiTypes.STR, enum=[str(a) for a in AuditAction]),
    OpenApiParameter("case", OpenApiTypes.STR, description="A case id."),
]


def _audit_filtered(request: Request) -> Any:
    params = request.query_params
    return selectors.audit_entries(
        actor=params.get("actor", "")[:150],
        action=params.get("action", ""),
        case_id=params.get("case", "")[:20],
    )


class AuditLogApi(ListAPIView):
    """The moderation audit log, newest first (admin role)."""

    permission_classes = [IsModerationAdmin]
    serializer_class = AuditEntrySerializer

    @extend_schema(parameters=_AUDIT_FILTERS, operation_id="moderation_audit_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return _audit_filtered(self.request)


class _IgnoreFormatParameter(DefaultContentNegotiation):
    """The export reads `?format=` itself (jsonl or csv): DRF must not take it for a renderer's name (it
    would answer 404 for `csv`), so that errors still answer in JSON."""

    def filter_renderers(self, renderers: list, format: str) -> list:
        return renderers


class _Echo:
    """csv.writer's file: hands back each row it is given, for streaming."""

    def write(self, value: str) -> str:
        return value


# A cell that begins with one of these is a formula to a spreadsheet: prefixed with a quote so that a note,
# a reason or a username can never run as one when the export is opened (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    text = json.dumps(value, cls=DjangoJSONEncoder) if isinstance(value, dict | list) else str(value)
    if value is None:
        text = ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class AuditLogExportApi(APIView):
    """The filtered audit log, oldest first, streamed (admin role): JSON Lines (`format=jsonl`, the default:
    one entry a line) or CSV (`format=csv`: a header row, then one entry a row, `details` as JSON; a cell
    that a spreadsheet would read as a formula starts with a quote)."""

    permission_classes = [IsModerationAdmin]
    content_negotiation_class = _IgnoreFormatParameter
    FORMATS = ("jsonl", "csv")

    @extend_schema(
        parameters=[
            *_AUDIT_FILTERS,
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(FORMATS), description="Default `jsonl`."),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
        },
        operation_id="moderation_audit_export",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        export_format = request.query_params.get("format", "jsonl")
        if export_format not in self.FORMATS:
            raise ApplicationError(
                ModerationError.INVALID_EXPORT_FORMAT,
                f"format is one of {', '.join(self.FORMATS)}; got {export_format[:20]!r}.",
            )
        entries = _audit_filtered(request).order_by("id")

        def rows() -> Iterator[dict[str, Any]]:
            for entry in entries.iterator(chunk_size=2000):
                yield AuditEntrySerializer(entry).data

        if export_format == "csv":
            fields = AuditEntrySerializer.Meta.fields
            writer = csv.writer(_Echo())
            body: Iterator[str] = itertools.chain(
                [writer.writerow(fields)],
                (writer.writerow([_csv_cell(row[field]) for field in fields]) for row in rows()),
            )
            response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
        else:
            body = (json.dumps(row, cls=DjangoJSONEncoder) + "\n" for row in rows())
            response = StreamingHttpResponse(body, content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="moderation-audit.{export_format}"'
        return response


class CaseNoteCreateApi(APIView):
    """Add a private note to a case (moderators see it on the case page; users never see it)."""

    permission_classes = [IsModerator]

    class InputSerializer(StrictInputSerializer):
        text = serializers.CharField(max_length=NOTE_TEXT_MAX_CHARS)

    @extend_schema(request=InputSerializer, responses={201: CaseNoteSerializer})
    def post(self, request: Request, case_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.case_note_add(moderator=request.user, case_id=case_id, **data.validated_data)
        return Response(CaseNoteSerializer(note).data, status=status.HTTP_201_CREATED)
