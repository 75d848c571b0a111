"""The schema's shapes of what a generation stores are exact: a real scene spec and a real provenance
manifest validate against them with no property left undescribed (they were typed as "anything")."""

import copy
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator

from ml.prompt import parse_prompt
from ml.provenance.c2pa import Featured, build_manifest
from tests.openapi_validation import openapi_schema

RICH_PROMPT = """## Shots
[0-2s] Close-up of @maya on a rooftop at dusk
[2-5s] @leo walks in, style noir
## Dialogues
[0.5-1.5s] @maya: "Did you bring it?"
[3-4s] @leo: "Of course."
## Audio
BGM: slow jazz, 90 BPM
SFX [2s]: door slam
Ambience: rain
duration: 5s
resolution: 480p
aspect: 16:9
style: film noir
seed: 42"""


def strict_component(name: str) -> dict[str, Any]:
    """The component with every object closed (additionalProperties: false unless it says otherwise), so a
    key the data has and the schema does not describe fails."""
    schema = copy.deepcopy(openapi_schema())

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema["components"])
    return {"$ref": f"#/components/schemas/{name}", "components": schema["components"]}


def validate(instance: Any, component: str, field: str | None = None) -> None:
    schema = strict_component(component)
    if field is not None:
        schema = {
            **schema["components"]["schemas"][component]["properties"][field],
            "components": schema["components"],
        }
    OAS30Validator(schema).validate(instance)


def test_a_rich_scene_spec_matches_the_scene_spec_component():
    spec = parse_prompt(RICH_PROMPT).to_dict()
    assert spec["shots"] and spec["dialogue"] and spec["cues"] and spec["style"]

    validate(spec, "SceneSpec")


def test_a_plain_scene_spec_with_nulls_matches_too():
    spec = parse_prompt("a lake at dawn").to_dict()
    assert spec["style"] is None

    validate(spec, "SceneSpec")


def test_the_scene_spec_component_refuses_what_a_spec_cannot_be():
    spec = parse_prompt(RICH_PROMPT).to_dict()

    for broken in (
        {**spec, "resolution": "4k"},
        {**spec, "cues": [{**spec["cues"][0], "kind": "speech"}]},
        {**spec, "duration": 60.0},
    ):
        with pytest.raises(ValidationError):
            validate(broken, "SceneSpec")


def test_a_real_manifest_matches_the_provenance_component():
    manifest = build_manifest(
        title="video.mp4",
        engine="reference",
        checkpoint_sha256="0" * 64,
        featured=[Featured("maya", 7)],
        seed=42,
        extra={"watermark": "AI", "output_size": "64x64", "voices": {"maya": "en+f4"}, "lipsync": []},
    )

    validate(manifest, "Generation", "provenance")
    validate(None, "Generation", "provenance")  # before the video is made
    with pytest.raises(ValidationError):
        validate({**manifest, "assertions": [{"label": "x"}]}, "Generation", "provenance")


def test_generation_fields_are_typed_not_anything():
    properties = openapi_schema()["components"]["schemas"]["Generation"]["properties"]

    assert properties["spec"]["allOf"] == [{"$ref": "#/components/schemas/SceneSpec"}]
    assert properties["provenance"]["type"] == "object" and properties["provenance"]["nullable"] is True
    assert set(properties["provenance"]["required"]) == {
        "claim_generator_info",
        "title",
        "format",
        "assertions",
    }


def test_cameo_restrictions_are_lists_of_typed_strings():
    properties = openapi_schema()["components"]["schemas"]["CameoOwner"]["properties"]
    categories = openapi_schema()["components"]["schemas"]["RestrictedCategoriesEnum"]

    assert properties["restricted_categories"]["items"] == {
        "$ref": "#/components/schemas/RestrictedCategoriesEnum"
    }
    assert "political" in categories["enum"]
    assert properties["forbidden_words"]["items"] == {"type": "string"}


@pytest.mark.parametrize("prompt", ["", "   \n  "])
def test_an_empty_prompt_is_invalid_in_the_schema_as_the_server_refuses_it(prompt):
    """The server refuses it (`empty_prompt`, tests/generation/test_create_api.py); the schema says so."""
    field = openapi_schema()["components"]["schemas"]["GenerationListCreateInputRequest"]["properties"][
        "prompt"
    ]

    with pytest.raises(ValidationError):
        OAS30Validator(field).validate(prompt)
    OAS30Validator(field).validate("@maya waves")


def test_a_short_password_is_invalid_in_the_schema_as_the_server_refuses_it(api_client, db):
    field = openapi_schema()["components"]["schemas"]["SignupInputRequest"]["properties"]["password"]
    with pytest.raises(ValidationError):
        OAS30Validator(field).validate("seven77")

    response = api_client.post(
        "/api/v1/auth/signup/",
        {"username": "maya", "email": "maya@example.com", "password": "seven77", "birth_date": "1994-05-06"},
    )

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["password"][0]["code"] == "min_length"
