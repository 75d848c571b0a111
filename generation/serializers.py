"""The shapes of the JSON a generation row stores, for the OpenAPI schema: the scene spec
(`ml.scene.SceneSpec.to_dict()`) and the provenance manifest (`ml.provenance.c2pa.build_manifest`).

They describe what `GenerationSerializer` returns as it is stored; a test checks them against real
`to_dict()` and manifest output, so the schema a client is generated from cannot drift from the data."""

from rest_framework import serializers

from ml.scene import (
    MAX_DURATION_S,
    MAX_FPS,
    MAX_SEED,
    MIN_DURATION_S,
    MIN_FPS,
    SPEC_VERSION,
    Aspect,
    CueKind,
    Resolution,
)


class SceneShotSerializer(serializers.Serializer):
    start = serializers.FloatField(min_value=0, help_text="Seconds from the start of the video.")
    end = serializers.FloatField(min_value=0, help_text="Seconds; after start.")
    text = serializers.CharField(help_text="What the shot shows, with its @handles.")


class SceneDialogueLineSerializer(serializers.Serializer):
    speaker = serializers.CharField(help_text="Handle of the cameo who speaks, lower-case, without @.")
    text = serializers.CharField(help_text="The words spoken.")
    start = serializers.FloatField(min_value=0)
    end = serializers.FloatField(min_value=0)


class SceneAudioCueSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(kind.value, kind.name) for kind in CueKind])
    description = serializers.CharField(help_text="What it sounds like, as written.")
    start = serializers.FloatField(min_value=0)
    end = serializers.FloatField(
        min_value=0, allow_null=True, help_text="Null: it lasts as long as the sound does."
    )


class SceneSpecSerializer(serializers.Serializer):
    """What the prompt was parsed into: the scene the engine renders."""

    version = serializers.IntegerField(help_text=f"Layout version of this object ({SPEC_VERSION} today).")
    text = serializers.CharField(
        allow_blank=True, help_text="The scene as a whole; may be empty when shots carry it."
    )
    shots = SceneShotSerializer(many=True)
    dialogue = SceneDialogueLineSerializer(many=True)
    cues = SceneAudioCueSerializer(many=True)
    duration = serializers.FloatField(
        min_value=MIN_DURATION_S, max_value=MAX_DURATION_S, help_text="Seconds."
    )
    fps = serializers.IntegerField(min_value=MIN_FPS, max_value=MAX_FPS)
    resolution = serializers.ChoiceField(choices=[resolution.value for resolution in Resolution])
    aspect = serializers.ChoiceField(choices=[aspect.value for aspect in Aspect])
    style = serializers.CharField(
        allow_null=True, help_text="A look applied to everything; null: the engine's own."
    )
    seed = serializers.IntegerField(min_value=0, max_value=MAX_SEED)
    mentions = serializers.ListField(
        child=serializers.CharField(),
        help_text="Handles in order of first appearance, lower-case, without @.",
    )


# Written out rather than generated from a serializer: a nullable reference (`allOf` + `nullable`) is not
# nullable to OpenAPI 3.0 validators, so the object is inline and nullable itself.
PROVENANCE_MANIFEST_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "The C2PA manifest signed into the video file, as it was signed; null until the video is made.",
    "properties": {
        "claim_generator_info": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                "required": ["name", "version"],
            },
        },
        "title": {"type": "string"},
        "format": {"type": "string", "description": "The media type of the signed file."},
        "assertions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": {
                        "type": "string",
                        "description": "`c2pa.actions` (created by a trained algorithm, which engine and "
                        "checkpoint) or `social.sora.generation` (engine, checkpoint, seed, the cameos by id, "
                        "watermark, voices, lip sync).",
                    },
                    "data": {
                        "type": "object",
                        "additionalProperties": True,
                        "description": "The assertion's content, as signed into the file.",
                    },
                },
                "required": ["label", "data"],
            },
        },
    },
    "required": ["claim_generator_info", "title", "format", "assertions"],
}
