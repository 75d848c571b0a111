"""Generation API: start a video from a prompt, follow it, cancel it, publish it, remix a published one; a
cameo owner's appearances (the videos that used their cameo, under /cameos/ for the client)."""

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
from core.serializers import StrictInputSerializer
from core.signed_media import SIGNED_MEDIA_URL_HELP, signed_media_url
from core.throttling import ScopedWriteThrottle
from core.uploads import MULTIPART_ALLOWANCE_BYTES, check_content_length
from generation import selectors, services
from generation.errors import GenerationError
from generation.models import Generation, GenerationStatus
from generation.serializers import PROVENANCE_MANIFEST_SCHEMA, SceneSpecSerializer
from ml.prompt import MAX_PROMPT_CHARS


class GenerationCameoSerializer(serializers.Serializer):
    mention = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username")

    def get_mention(self, use: Any) -> str:
        return "@" + use.handle


class GenerationSerializer(serializers.ModelSerializer):
    """A generation as its requester, or the owner of a cameo in it, sees it (a feed viewer sees a post:
    `feed.apis.PostSerializer`)."""

    requester = serializers.CharField(source="requester.username")
    remix_of = serializers.IntegerField(
        source="remix_of_id", allow_null=True, read_only=True, help_text="The video this one remixes."
    )
    remix_of_requester = serializers.CharField(
        source="remix_of.requester.username", allow_null=True, read_only=True, default=None
    )
    cameos = serializers.SerializerMethodField()
    spec = serializers.SerializerMethodField()
    engine = serializers.SerializerMethodField()
    provenance = serializers.SerializerMethodField()
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

    @extend_schema_field(SceneSpecSerializer)
    def get_spec(self, generation: Generation) -> dict[str, Any]:
        return generation.spec

    @extend_schema_field(PROVENANCE_MANIFEST_SCHEMA)
    def get_provenance(self, generation: Generation) -> dict[str, Any] | None:
        return generation.provenance or None

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_engine(self, generation: Generation) -> dict[str, Any]:
        """How it was made (engine, checkpoint digest, steps, seed); empty until it finished."""
        return {key: value for key, value in generation.engine_metadata.items() if key != "timings"}

    def _url(self, generation: Generation, name: str) -> str | None:
        viewer = self.context["request"].user
        if not name or not selectors.generation_media_playable_by(generation=generation, viewer=viewer):
            return None
        return signed_media_url(
            name, settings.MEDIA_URL_EXPIRY_SECONDS, request=self.context["request"], viewer_id=viewer.pk
        )

    @extend_schema_field(
        serializers.URLField(
            allow_null=True, help_text="The H.264/AAC mp4, when you may play it. " + SIGNED_MEDIA_URL_HELP
        )
    )
    def get_video_url(self, generation: Generation) -> str | None:
        return self._url(generation, generation.video.name if generation.video else "")

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="The poster frame (JPEG). " + SIGNED_MEDIA_URL_HELP)
    )
    def get_poster_url(self, generation: Generation) -> str | None:
        return self._url(generation, generation.poster.name if generation.poster else "")


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS, "pattern": r"\S"})
class PromptField(StrictCharField):
    """A prompt with something in it, as the schema says; an empty or blank one still reaches the prompt
    parser, which refuses it as `empty_prompt` (the code clients switch on) rather than a generic `blank`."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if isinstance(data, str) and not data.strip():
            return data
        return super().run_validation(data)


def _output(generation: Generation, request: Request, code: int = status.HTTP_200_OK) -> Response:
    fresh = Generation.objects.select_related("requester", "remix_of__requester").get(pk=generation.pk)
    return Response(GenerationSerializer(fresh, context={"request": request}).data, status=code)


class GenerationListCreateApi(ListAPIView):
    """Your videos, drafts and published, newest first; or start a new one from a prompt."""

    serializer_class = GenerationSerializer
    throttle_classes = [ScopedWriteThrottle]  # listing is free; starting a video is not
    throttle_scope = "generation_create"

    class InputSerializer(StrictInputSerializer):
        prompt = PromptField(
            max_length=MAX_PROMPT_CHARS,
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
                GenerationError.INVALID_FILTER,
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
    """Your video, or one with your cameo in it, with how it was made (prompt, spec, job state, engine).
    Someone else's published video is a post: `GET /posts/{id}/`, without any of that."""

    @extend_schema(responses={200: GenerationSerializer}, operation_id="generations_get")
    def get(self, request: Request, generation_id: int) -> Response:
        generation = selectors.generation_get_for_maker(viewer=request.user, generation_id=generation_id)
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


class AppearanceSerializer(serializers.Serializer):
    """A video that used your cameo, as its owner's record: kept when its requester deletes it."""

    id = serializers.IntegerField()
    requester = serializers.CharField(source="requester.username")
    prompt = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    removed_at = serializers.DateTimeField(allow_null=True)
    removed_reason = serializers.CharField(help_text="Why it was taken down; empty while it is up.")
    deleted_at = serializers.DateTimeField(
        allow_null=True, help_text="When its requester deleted it (its media is gone)."
    )


class AppearanceListApi(ListAPIView):
    """Every generation that used your cameo, whoever made it, whether published or not, and whether taken
    down or deleted by its requester since."""

    serializer_class = AppearanceSerializer

    @extend_schema(operation_id="cameos_appearances_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.appearances_of_cameo(owner=self.request.user, cameo_id=self.kwargs["cameo_id"])


class AppearanceListAllApi(ListAPIView):
    """Every generation that used any of your cameos, including cameos you deleted since."""

    serializer_class = AppearanceSerializer

    @extend_schema(operation_id="cameos_appearances_list_all")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.appearances_of_owner(owner=self.request.user)


class AppearanceRemoveApi(APIView):
    """Take down a generation that uses your cameo: its media is deleted and it can never be published."""

    @extend_schema(request=None, responses={204: None}, operation_id="cameos_appearance_remove")
    def delete(self, request: Request, generation_id: int) -> Response:
        services.appearance_remove(owner=request.user, generation_id=generation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


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

    class InputSerializer(StrictInputSerializer):
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
