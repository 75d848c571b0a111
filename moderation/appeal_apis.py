"""Appeals API: the affected user's decisions and appeals (user-facing: never the moderator, never a note),
and the moderators' decision on an appeal."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.authentication import AccessTokenAuthentication, RestrictedAccessAuthentication
from core.fields import StrictCharField
from core.serializers import StrictInputSerializer
from moderation import appeals, selectors
from moderation.apis import ModeratorAppealSerializer
from moderation.models import APPEAL_REPLY_MAX_CHARS, APPEAL_TEXT_MAX_CHARS, Appeal, AppealStatus, Decision
from moderation.permissions import IsModerator
from moderation.targets import case_target_public_id, target_kind_for


class MyAppealSerializer(serializers.ModelSerializer):
    """Your appeal as you see it: its state and the moderators' reply, never who decided it."""

    class Meta:
        model = Appeal
        fields = ["id", "status", "text", "reply", "created_at", "decided_at"]


class MyDecisionSerializer(serializers.ModelSerializer):
    """A decision about you or your content, as you see it: what was done, the rule and the reason, whether
    it counts as a strike, and your appeal. Never who decided it (`automatic` only says whether a person
    did), and nothing moderators wrote for each other."""

    target_type = serializers.SerializerMethodField()
    target_id = serializers.SerializerMethodField()
    automatic = serializers.SerializerMethodField(help_text="True when an automatic check decided it.")
    appealable_until = serializers.SerializerMethodField(
        help_text="Until when it may be appealed; null once appealed or reversed."
    )
    appeal_id = serializers.IntegerField(source="appeal.id", read_only=True, allow_null=True)
    appeal_status = serializers.CharField(
        source="appeal.status", read_only=True, allow_null=True,
        help_text="Null until you appeal; then `pending`, `upheld` (the decision was reversed) or `denied`.",
    )  # fmt: skip
    appeal_text = serializers.CharField(source="appeal.text", read_only=True, allow_null=True)
    appeal_reply = serializers.CharField(
        source="appeal.reply", read_only=True, allow_null=True, help_text="The moderators' reply, once decided."
    )
    appealed_at = serializers.DateTimeField(source="appeal.created_at", read_only=True, allow_null=True)
    appeal_decided_at = serializers.DateTimeField(source="appeal.decided_at", read_only=True, allow_null=True)

    class Meta:
        model = Decision
        fields = ["id", "target_type", "target_id", "action", "rule", "reason", "strike", "suspended_until",
                  "automatic", "created_at", "reversed_at", "appealable_until", "appeal_id", "appeal_status",
                  "appeal_text", "appeal_reply", "appealed_at", "appeal_decided_at"]  # fmt: skip

    def get_target_type(self, decision: Decision) -> str:
        return target_kind_for(decision.case.target_type).name

    def get_target_id(self, decision: Decision) -> str:
        return case_target_public_id(decision.case)

    def get_automatic(self, decision: Decision) -> bool:
        return decision.moderator_id is None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_appealable_until(self, decision: Decision) -> datetime | None:
        # An absent reverse one-to-one raises (a subclass of) AttributeError: getattr's default covers it.
        if getattr(decision, "appeal", None) is not None or decision.reversed_at is not None:
            return None
        closes_at = decision.created_at + appeals.appeal_window()
        return closes_at if closes_at > timezone.now() else None


# A banned or suspended account cannot sign in; with the restricted token its sign-in refusal carries, it
# still reads and appeals the decisions about it, and nothing else.
_ALSO_KEPT_OUT_ACCOUNTS = [AccessTokenAuthentication, SessionAuthentication, RestrictedAccessAuthentication]


class MyDecisionListApi(ListAPIView):
    """The decisions about you or your content (removals, age restrictions, warnings, suspensions, bans,
    rejected cameos; automatic ones too), newest first, each with your appeal and its reply. A banned or
    suspended account reaches it with `Authorization: Restricted <token>`."""

    serializer_class = MyDecisionSerializer
    authentication_classes = _ALSO_KEPT_OUT_ACCOUNTS

    def get_queryset(self) -> Any:
        return selectors.decisions_about_user(user=self.request.user)


class DecisionAppealApi(APIView):
    """Appeal a decision about you, once, with why (throttled per user: scope `appeals`). It goes to the
    moderators' queue; the outcome and their reply show in `GET /me/decisions/`. 404
    `decision_not_found` for a decision not about you; 409 `appeal_not_allowed` (a dismissal, a
    verification, or a decision already reversed), `appeal_already_filed`, `appeal_window_closed`. A banned
    or suspended account reaches it with `Authorization: Restricted <token>`."""

    authentication_classes = _ALSO_KEPT_OUT_ACCOUNTS
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "appeals"

    class InputSerializer(StrictInputSerializer):
        text = StrictCharField(max_length=APPEAL_TEXT_MAX_CHARS)

    @extend_schema(request=InputSerializer, responses={201: MyAppealSerializer})
    def post(self, request: Request, decision_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = appeals.appeal_file(appellant=request.user, decision_id=decision_id, **data.validated_data)
        return Response(MyAppealSerializer(appeal).data, status=status.HTTP_201_CREATED)


class CaseAppealDecideApi(APIView):
    """Decide the appeal waiting as this case (kind `appeal`), which you hold a claim on: `upheld` reverses
    the decision (a removed video is restored, an age restriction, suspension or ban lifted, a rejected cameo
    verified; its strike stops counting), `denied` lets it stand. The `reply` is shown to the user, never
    who decided."""

    permission_classes = [IsModerator]

    class InputSerializer(StrictInputSerializer):
        outcome = serializers.ChoiceField(choices=[AppealStatus.UPHELD, AppealStatus.DENIED])
        reply = StrictCharField(max_length=APPEAL_REPLY_MAX_CHARS)

    @extend_schema(request=InputSerializer, responses={200: ModeratorAppealSerializer})
    def post(self, request: Request, case_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = appeals.appeal_decide(moderator=request.user, case_id=case_id, **data.validated_data)
        return Response(ModeratorAppealSerializer(appeal).data)
