"""Cameos API. Raw media, embeddings and transcripts never appear here; the owner reaches their own media
only through short-lived signed URLs."""

import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.models import username_validator
from cameos import reasons, selectors, services
from cameos.errors import CameoError
from cameos.models import (
    Cameo,
    CameoAccessRequest,
    CameoPermission,
    CameoStatus,
    CameoUpload,
    LivenessChallenge,
    RestrictionCategory,
)
from cameos.preferences import FORBIDDEN_WORD_MAX_CHARS, FORBIDDEN_WORDS_MAX
from core.exceptions import ApplicationError
from core.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from core.parsing import parse_ascii_int
from core.serializers import StrictInputSerializer
from core.signed_media import SIGNED_MEDIA_URL_HELP, signed_media_url
from core.uploads import MULTIPART_ALLOWANCE_BYTES, check_content_length


class CameoOwnerSerializer(serializers.ModelSerializer):
    """What the owner sees of their own cameo."""

    mention = serializers.SerializerMethodField()
    status = serializers.ChoiceField(
        choices=CameoStatus.choices,
        read_only=True,
        help_text=(
            "`uploaded` → `processing` (liveness and identity checks, progress on the socket as "
            "`cameo.progress`) → `verified` (usable), `rejected` (record again with a new challenge; "
            "`status_reason` says why), or `needs_review` (held: `status_reason` says why, e.g. "
            "`likeness_match` when it looks like another person's cameo). A held cameo is not usable; a "
            "moderator decides, the cameo becomes `verified` or `rejected` (`review_rejected`), and the "
            "owner is told with a `cameo.reviewed` socket event. A deleted cameo is gone from the owner's "
            "list and detail at once, while its data is erased."
        ),
    )
    status_reason = serializers.CharField(
        source="rejection_reason",
        read_only=True,
        help_text="Why the cameo is `rejected` or held in `needs_review`, as a stable code; empty otherwise.",
    )
    status_message = serializers.SerializerMethodField(
        help_text='The state and the next step in a sentence for the owner, e.g. "Held for review: it '
        "looks like another person's cameo. A moderator will look at it and decide; you will be told the "
        'outcome."'
    )
    rejection_reason = serializers.SerializerMethodField(
        help_text="Why the cameo is `rejected`; empty in any other state (see `status_reason`)."
    )
    restricted_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=RestrictionCategory.choices), read_only=True
    )
    forbidden_words = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Cameo
        fields = [
            "id",
            "kind",
            "mention",
            "display_name",
            "status",
            "status_reason",
            "status_message",
            "rejection_reason",
            "permission",
            "guidance",
            "restricted_categories",
            "forbidden_words",
            "created_at",
            "verified_at",
        ]

    def get_mention(self, cameo: Cameo) -> str:
        return "@" + selectors.cameo_mention(cameo)

    def get_status_message(self, cameo: Cameo) -> str:
        return reasons.status_message(status=cameo.status, reason=cameo.rejection_reason)

    def get_rejection_reason(self, cameo: Cameo) -> str:
        return cameo.rejection_reason if cameo.status == CameoStatus.REJECTED else ""


class CameoCardSerializer(serializers.ModelSerializer):
    """What another user sees: enough to mention it and to ask for access."""

    mention = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username")
    can_use = serializers.SerializerMethodField()

    class Meta:
        model = Cameo
        fields = ["id", "kind", "mention", "display_name", "owner", "permission", "can_use"]

    def get_mention(self, cameo: Cameo) -> str:
        return "@" + selectors.cameo_mention(cameo)

    def get_can_use(self, cameo: Cameo) -> bool:
        return selectors.cameo_use_refusal(user=self.context["request"].user, cameo=cameo) is None


class ChallengeCreateApi(APIView):
    """Ask for the digits to read aloud while recording your cameo (single use, valid for minutes)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(StrictInputSerializer):
        head_turn = StrictBooleanField(default=False, help_text="Also ask for a head turn.")

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = LivenessChallenge
            fields = ["id", "digits", "head_turn", "expires_at"]

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, operation_id="cameos_challenge_create"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_create(user=request.user, **data.validated_data)
        return Response(self.OutputSerializer(challenge).data, status=status.HTTP_201_CREATED)


class CameoListCreateApi(APIView):
    parser_classes = [MultiPartParser]

    @staticmethod
    def request_body_limit() -> int:
        """Read by core.body_limit before the body is: the recording and the multipart envelope."""
        return settings.CAMEO_MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE_BYTES

    class InputSerializer(StrictInputSerializer):
        challenge_id = serializers.IntegerField()
        # Empty files reach the probe, which names the problem as the other media errors do.
        recording = serializers.FileField(
            allow_empty_file=True, help_text="2 to 30 s of mp4, mov or webm with video and sound."
        )

    @extend_schema(responses={200: CameoOwnerSerializer(many=True)}, operation_id="cameos_list_mine")
    def get(self, request: Request) -> Response:
        return Response(CameoOwnerSerializer(selectors.cameos_of_owner(owner=request.user), many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: CameoOwnerSerializer},
        operation_id="cameos_create",
    )
    def post(self, request: Request) -> Response:
        check_content_length(request, self.request_body_limit())
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cameo = services.cameo_create(
            owner=request.user,
            challenge_id=data.validated_data["challenge_id"],
            recording=data.validated_data["recording"],
        )
        return Response(CameoOwnerSerializer(cameo).data, status=status.HTTP_202_ACCEPTED)


class CharacterCreateApi(APIView):
    """Create a character cameo (a pet, an object, an invented character) from one image."""

    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "character_upload"

    @staticmethod
    def request_body_limit() -> int:
        """Read by core.body_limit before the body is."""
        return settings.CAMEO_CHARACTER_MAX_BYTES

    class InputSerializer(StrictInputSerializer):
        handle = StrictCharField(
            max_length=30, validators=[username_validator], help_text="Mentioned as @handle."
        )
        display_name = StrictCharField(max_length=50, required=False, allow_blank=True, default="")
        image = serializers.FileField(allow_empty_file=True, help_text="PNG, JPEG or WebP, at least 128 px.")

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: CameoOwnerSerializer},
        operation_id="cameos_character_create",
    )
    def post(self, request: Request) -> Response:
        check_content_length(request, self.request_body_limit())
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cameo = services.character_create(
            owner=request.user,
            handle=data.validated_data["handle"],
            display_name=data.validated_data["display_name"],
            image=data.validated_data["image"].read(),
        )
        return Response(CameoOwnerSerializer(cameo).data, status=status.HTTP_202_ACCEPTED)


class UploadOutputSerializer(serializers.ModelSerializer):
    offset = serializers.IntegerField(source="received")

    class Meta:
        model = CameoUpload
        fields = ["id", "size", "offset", "expires_at"]


class UploadStartApi(APIView):
    """Start an upload. Resumable (default): send the bytes with `PATCH …/uploads/{id}/` from the reported
    offset. Direct (`direct: true`, S3 storage only): POST the file to `direct_upload_url` with
    `direct_upload_fields`. Either way, finish with `POST …/uploads/{id}/complete/`, or abort with
    `DELETE …/uploads/{id}/`.

    Limits: one upload per challenge (`upload_exists`, 409, with its id and offset to resume), and per user
    `CAMEO_MAX_OPEN_UPLOADS` (2) open at once (`too_many_uploads`, 429) holding at most
    `CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER` (400 MB) of declared size (`upload_space_exceeded`, 429). An
    upload lives no longer than its challenge: after that it is discarded (`challenge_expired`)."""

    class InputSerializer(StrictInputSerializer):
        challenge_id = StrictIntegerField()
        size = StrictIntegerField(min_value=1, help_text="Total size in bytes.")
        direct = StrictBooleanField(default=False, help_text="Upload straight to object storage.")

    class OutputSerializer(UploadOutputSerializer):
        direct_upload_url = serializers.URLField(
            allow_null=True, help_text="Direct uploads: POST the file here as multipart/form-data…"
        )
        direct_upload_fields = serializers.DictField(
            child=serializers.CharField(),
            allow_null=True,
            help_text="…with these form fields before the file.",
        )

        class Meta(UploadOutputSerializer.Meta):
            fields = [*UploadOutputSerializer.Meta.fields, "direct_upload_url", "direct_upload_fields"]

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, operation_id="cameos_upload_start"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = {
            "owner": request.user,
            "challenge_id": data.validated_data["challenge_id"],
            "size": data.validated_data["size"],
        }
        if data.validated_data["direct"]:
            upload, direct = services.upload_start_direct(**arguments)
        else:
            upload, direct = services.upload_start(**arguments), None
        upload.direct_upload_url = direct["url"] if direct else None  # type: ignore[attr-defined]
        upload.direct_upload_fields = direct["fields"] if direct else None  # type: ignore[attr-defined]
        return Response(self.OutputSerializer(upload).data, status=status.HTTP_201_CREATED)


class OctetStreamParser(BaseParser):
    media_type = "application/octet-stream"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> bytes:
        return stream.read() if stream is not None else b""


class UploadChunkApi(APIView):
    parser_classes = [OctetStreamParser]

    @staticmethod
    def request_body_limit() -> int:
        """Read by core.body_limit before the body is: one chunk."""
        return settings.CAMEO_UPLOAD_MAX_CHUNK_BYTES

    @extend_schema(responses={200: UploadOutputSerializer}, operation_id="cameos_upload_status")
    def get(self, request: Request, upload_id: uuid.UUID) -> Response:
        """Where an upload stands: resume from `offset`."""
        return Response(
            UploadOutputSerializer(services.upload_get(owner=request.user, upload_id=upload_id)).data
        )

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Upload-Offset",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=True,
                description="The byte offset this chunk starts at: the upload's current offset.",
            )
        ],
        responses={200: UploadOutputSerializer},
        operation_id="cameos_upload_append",
    )
    def patch(self, request: Request, upload_id: uuid.UUID) -> Response:
        offset = parse_ascii_int(request.headers.get("Upload-Offset", ""))
        if offset is None:
            raise ApplicationError(
                CameoError.UPLOAD_OFFSET_REQUIRED, "Send the chunk's start in the Upload-Offset header."
            )
        check_content_length(request, self.request_body_limit())
        chunk = request.data if isinstance(request.data, bytes) else b""
        if not chunk:
            raise ApplicationError(CameoError.UPLOAD_EMPTY_CHUNK, "The chunk is empty.")
        upload = services.upload_append(owner=request.user, upload_id=upload_id, offset=offset, chunk=chunk)
        return Response(UploadOutputSerializer(upload).data)

    @extend_schema(request=None, responses={204: None}, operation_id="cameos_upload_abort")
    def delete(self, request: Request, upload_id: uuid.UUID) -> Response:
        """Abort an upload: it and its bytes are deleted, and its challenge can take a new upload."""
        services.upload_abort(owner=request.user, upload_id=upload_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadCompleteApi(APIView):
    @extend_schema(request=None, responses={202: CameoOwnerSerializer}, operation_id="cameos_upload_complete")
    def post(self, request: Request, upload_id: uuid.UUID) -> Response:
        cameo = services.upload_complete(owner=request.user, upload_id=upload_id)
        return Response(CameoOwnerSerializer(cameo).data, status=status.HTTP_202_ACCEPTED)


class CameoDetailApi(APIView):
    """Your own cameo: read, change who may use it and how, delete it (its data is then erased)."""

    class UpdateInputSerializer(StrictInputSerializer):
        permission = serializers.ChoiceField(choices=CameoPermission.choices, required=False)
        guidance = StrictCharField(max_length=1000, required=False, allow_blank=True)
        restricted_categories = serializers.ListField(
            child=serializers.ChoiceField(choices=RestrictionCategory.choices), required=False, max_length=20
        )
        # The limits of cameos/preferences.py, so the schema says them.
        forbidden_words = serializers.ListField(
            child=StrictCharField(max_length=FORBIDDEN_WORD_MAX_CHARS),
            required=False,
            max_length=FORBIDDEN_WORDS_MAX,
        )

    @extend_schema(responses={200: CameoOwnerSerializer}, operation_id="cameos_get")
    def get(self, request: Request, cameo_id: int) -> Response:
        return Response(
            CameoOwnerSerializer(selectors.cameo_get_owned(owner=request.user, cameo_id=cameo_id)).data
        )

    @extend_schema(
        request=UpdateInputSerializer, responses={200: CameoOwnerSerializer}, operation_id="cameos_update"
    )
    def patch(self, request: Request, cameo_id: int) -> Response:
        cameo = selectors.cameo_get_owned(owner=request.user, cameo_id=cameo_id)
        data = self.UpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cameo = services.cameo_update_settings(cameo=cameo, **data.validated_data)
        return Response(CameoOwnerSerializer(cameo).data)

    @extend_schema(request=None, responses={202: None}, operation_id="cameos_delete")
    def delete(self, request: Request, cameo_id: int) -> Response:
        services.cameo_delete(cameo=selectors.cameo_get_owned(owner=request.user, cameo_id=cameo_id))
        return Response(status=status.HTTP_202_ACCEPTED)


class CameoMediaApi(APIView):
    """Signed, expiring URLs to your own recording and reference image."""

    class OutputSerializer(serializers.Serializer):
        recording_url = serializers.URLField(
            allow_null=True, help_text="Your recording as uploaded. " + SIGNED_MEDIA_URL_HELP
        )
        reference_image_url = serializers.URLField(
            allow_null=True,
            help_text="The face crop verification kept (once verified). " + SIGNED_MEDIA_URL_HELP,
        )
        expires_in_seconds = serializers.IntegerField(help_text="How long both links stay valid.")

    @extend_schema(responses={200: OutputSerializer}, operation_id="cameos_media")
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo = selectors.cameo_get_owned(owner=request.user, cameo_id=cameo_id)
        expiry = settings.MEDIA_URL_EXPIRY_SECONDS
        recording, reference = cameo.recording, cameo.reference_image
        return Response(
            {
                "recording_url": signed_media_url(
                    recording.name, expiry, request=request, viewer_id=request.user.pk
                )
                if recording
                else None,
                "reference_image_url": signed_media_url(
                    reference.name, expiry, request=request, viewer_id=request.user.pk
                )
                if reference
                else None,
                "expires_in_seconds": expiry,
            }
        )


class CameoCardApi(APIView):
    @extend_schema(responses={200: CameoCardSerializer}, operation_id="cameos_card")
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo = selectors.cameo_get_visible(viewer=request.user, cameo_id=cameo_id)
        return Response(CameoCardSerializer(cameo, context={"request": request}).data)


class AccessRequestSerializer(serializers.ModelSerializer):
    requester = serializers.CharField(source="requester.username")
    cameo_mention = serializers.SerializerMethodField()

    class Meta:
        model = CameoAccessRequest
        fields = [
            "id",
            "cameo_id",
            "cameo_mention",
            "requester",
            "status",
            "message",
            "created_at",
            "decided_at",
        ]

    def get_cameo_mention(self, request: CameoAccessRequest) -> str:
        return "@" + selectors.cameo_mention(request.cameo)


class AccessRequestCreateApi(APIView):
    class InputSerializer(StrictInputSerializer):
        message = StrictCharField(
            max_length=200,
            required=False,
            allow_blank=True,
            default="",
            help_text="A note to the owner. Refused (`message_to_minor_not_allowed`, 403) when the owner is "
            "a minor and you do not follow each other: send the request without one.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: AccessRequestSerializer},
        operation_id="cameos_access_request",
    )
    def post(self, request: Request, cameo_id: int) -> Response:
        cameo = selectors.cameo_get_visible(viewer=request.user, cameo_id=cameo_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        access_request = services.access_request_create(
            cameo=cameo, requester=request.user, **data.validated_data
        )
        return Response(AccessRequestSerializer(access_request).data, status=status.HTTP_201_CREATED)


class AccessRequestListApi(ListAPIView):
    """Requests for your cameos (`direction=incoming`, the default) or the ones you made (`outgoing`)."""

    serializer_class = AccessRequestSerializer

    @extend_schema(
        parameters=[OpenApiParameter("direction", OpenApiTypes.STR, enum=["incoming", "outgoing"])],
        operation_id="cameos_access_requests_list",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        direction = self.request.query_params.get("direction", "incoming")
        if direction not in ("incoming", "outgoing"):
            raise ApplicationError(
                CameoError.INVALID_DIRECTION, f"direction is incoming or outgoing, not {direction!r}."
            )
        if direction == "outgoing":
            return CameoAccessRequest.objects.filter(requester=self.request.user).select_related(
                "requester", "cameo__owner"
            )
        return selectors.access_requests_for_owner(owner=self.request.user).select_related("cameo__owner")


class AccessRequestDecideApi(APIView):
    decision = True

    @extend_schema(request=None, responses={200: AccessRequestSerializer})
    def post(self, request: Request, request_id: int) -> Response:
        decided = services.access_request_decide(
            owner=request.user, request_id=request_id, approve=self.decision
        )
        return Response(AccessRequestSerializer(decided).data)


class AccessRequestApproveApi(AccessRequestDecideApi):
    decision = True


class AccessRequestDenyApi(AccessRequestDecideApi):
    decision = False


class AccessRequestRemoveApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="cameos_access_request_remove")
    def delete(self, request: Request, request_id: int) -> Response:
        services.access_request_remove(owner=request.user, request_id=request_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
