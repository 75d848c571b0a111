"""Generation API: start a video from a prompt, follow it, cancel it, publish it, remix a published one."""

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.fields import StrictCharField, StrictIntegerField
from core.signed_media import signed_media_url
from core.throttling import ScopedWriteThrottle
from core.uploads import MULTIPART_ALLOWANCE_BYTES, check_content_length
from generation import selectors, services
from generation.models import Generation, GenerationStatus
from ml.prompt import MAX_PROMPT_CHARS


def media_visible_to(generation: Generation, user: Any) -> bool:
    """Whether `user` may play this video: a finished, checked, not taken-down result, seen by its requester,
    an owner of a cameo in it, anyone once published; held or blocked videos by moderators only."""
    if not generation.video or generation.removed_at is not None:
        return False
    if generation.status in (GenerationStatus.BLOCKED, GenerationStatus.NEEDS_REVIEW):
        return bool(user.is_staff)
    if generation.status != GenerationStatus.SUCCEEDED:
        return False
    if generation.requester_id == user.pk or generation.published_at is not None:
        return True
    return any(use.owner_id == user.pk for use in generation.cameo_uses.all())


class GenerationCameoSerializer(serializers.Serializer):
    mention = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username")

    def get_mention(self, use: Any) -> str:
        return "@" + use.handle


class GenerationSerializer(serializers.ModelSerializer):
    """A generation as its requester (or a cameo owner, or a feed viewer) sees it."""

    requester = serializers.CharField(source="requester.username")
    remix_of = serializers.IntegerField(
        source="remix_of_id", allow_null=True, read_only=True, help_text="The video this one remixes."
    )
    remix_of_requester = serializers.CharField(
        source="remix_of.requester.username", allow_null=True, read_only=True, default=None
    )
    cameos = serializers.SerializerMethodField()
    engine = serializers.SerializerMethodField()
    video_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()

    class Meta:
        model = Generation
        fields = [
            "id",
            "requester",
            "prompt",
            "spec",
            "status",
            "progress",
            "stage",
            "failure_reason",
            "remix_of",
            "remix_of_requester",
            "cameos",
            "engine",
            "provenance",
            "video_url",
            "poster_url",
            "created_at",
            "started_at",
            "finished_at",
            "published_at",
            "removed_at",
            "removed_reason",
        ]

    @extend_schema_field(GenerationCameoSerializer(many=True))
    def get_cameos(self, generation: Generation) -> list[dict[str, Any]]:
        uses = sorted(generation.cameo_uses.all(), key=lambda use: use.pk)
        return [{"mention": "@" + use.handle, "owner": use.owner.username} for use in uses]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_engine(self, generation: Generation) -> dict[str, Any]:
        """How it was made (engine, checkpoint digest, steps, seed); empty until it finished."""
        return {key: value for key, value in generation.engine_metadata.items() if key != "timings"}

    def _url(self, generation: Generation, name: str) -> str | None:
        if not name or not media_visible_to(generation, self.context["request"].user):
            return None
        return signed_media_url(name, settings.MEDIA_URL_EXPIRY_SECONDS)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_video_url(self, generation: Generation) -> str | None:
        """A signed, expiring link to the mp4, when you may play it."""
        return self._url(generation, generation.video.name if generation.video else "")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_poster_url(self, generation: Generation) -> str | None:
        return self._url(generation, generation.poster.name if generation.poster else "")


def _output(generation: Generation, request: Request, code: int = status.HTTP_200_OK) -> Response:
    fresh = Generation.objects.select_related("requester", "remix_of__requester").get(pk=generation.pk)
    return Response(GenerationSerializer(fresh, context={"request": request}).data, status=code)


class GenerationListCreateApi(ListAPIView):
    """Your videos, drafts and published, newest first; or start a new one from a prompt."""

    serializer_class = GenerationSerializer
    throttle_classes = [ScopedWriteThrottle]  # listing is free; starting a video is not
    throttle_scope = "generation_create"

    class InputSerializer(serializers.Serializer):
        prompt = StrictCharField(
            max_length=MAX_PROMPT_CHARS,
            allow_blank=True,
            trim_whitespace=False,
            help_text="What happens, who is in it (@mentions), dialogue, sound and settings.",
        )
        remix_of = StrictIntegerField(
            required=False, allow_null=True, default=None, help_text="A published video this one remixes."
        )

    def get_queryset(self) -> Any:
        wanted = self.request.query_params.get("status")
        if wanted is not None and wanted not in GenerationStatus.values:
            raise ApplicationError(
                "invalid_filter",
                f"status must be one of {', '.join(GenerationStatus.values)}; got {wanted!r}.",
            )
        return selectors.generations_of_requester(requester=self.request.user, status=wanted)

    @extend_schema(
        operation_id="generations_list_mine",
        parameters=[OpenApiParameter("status", str, enum=GenerationStatus.values, required=False)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="generations_create",
        request=InputSerializer,
        responses={201: GenerationSerializer, 200: GenerationSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Retrying with the same key returns the job the first request made (200).",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        generation, created = services.generation_create(
            requester=request.user,
            prompt=data.validated_data["prompt"],
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            remix_of_id=data.validated_data["remix_of"],
        )
        return _output(generation, request, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class GenerationDetailApi(APIView):
    @extend_schema(responses={200: GenerationSerializer}, operation_id="generations_get")
    def get(self, request: Request, generation_id: int) -> Response:
        generation = selectors.generation_get_visible(viewer=request.user, generation_id=generation_id)
        return _output(generation, request)

    @extend_schema(request=None, responses={204: None}, operation_id="generations_delete")
    def delete(self, request: Request, generation_id: int) -> Response:
        services.generation_delete(requester=request.user, generation_id=generation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GenerationCancelApi(APIView):
    """Stop your queued or running video; nothing of it is kept."""

    @extend_schema(request=None, responses={200: GenerationSerializer}, operation_id="generations_cancel")
    def post(self, request: Request, generation_id: int) -> Response:
        generation = services.generation_cancel(requester=request.user, generation_id=generation_id)
        return _output(generation, request)


class GenerationPublishApi(APIView):
    """Put your finished draft in the feed (every cameo in it must still be yours to use); DELETE takes it
    back to your drafts."""

    @extend_schema(request=None, responses={200: GenerationSerializer}, operation_id="generations_publish")
    def post(self, request: Request, generation_id: int) -> Response:
        generation = services.generation_publish(requester=request.user, generation_id=generation_id)
        return _output(generation, request)

    @extend_schema(request=None, responses={200: GenerationSerializer}, operation_id="generations_unpublish")
    def delete(self, request: Request, generation_id: int) -> Response:
        generation = services.generation_unpublish(requester=request.user, generation_id=generation_id)
        return _output(generation, request)


class ProvenanceC2paSerializer(serializers.Serializer):
    state = serializers.CharField(help_text="Trusted, Valid, Invalid or NoManifest.")
    signed_by_us = serializers.BooleanField()
    ai_generated = serializers.BooleanField()
    engine = serializers.CharField()


class ProvenanceCheckApi(APIView):
    """Did this video come from us? Checks the file's C2PA signature against our certificates and its
    fingerprint against every video made here (a re-encoded, rescaled or trimmed copy still matches)."""

    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "provenance_check"

    @staticmethod
    def request_body_limit() -> int:
        """Read by core.body_limit before the body is: the video and the multipart envelope."""
        return settings.GENERATION_PROVENANCE_MAX_BYTES + MULTIPART_ALLOWANCE_BYTES

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True, help_text="The video to check (mp4, mov, webm).")

    class OutputSerializer(serializers.Serializer):
        came_from_us = serializers.BooleanField(help_text="Signed by us, or a copy of a video made here.")
        c2pa = ProvenanceC2paSerializer()
        fingerprint_matched = serializers.BooleanField(
            help_text="A video made here has the same fingerprint."
        )
        matched_generation_id = serializers.IntegerField(
            allow_null=True, help_text="That video, when it is one you may see."
        )
        video_bit_error_rate = serializers.FloatField(allow_null=True, help_text="0 same .. 0.5 unrelated.")
        audio_bit_error_rate = serializers.FloatField(allow_null=True)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={200: OutputSerializer},
        operation_id="provenance_check",
    )
    def post(self, request: Request) -> Response:
        from generation.provenance import provenance_check

        check_content_length(request, self.request_body_limit())
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = provenance_check(viewer=request.user, upload=data.validated_data["file"])
        return Response(self.OutputSerializer(result).data)
