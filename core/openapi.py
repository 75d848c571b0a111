"""drf-spectacular hooks: every operation documents the shared error shape for the 4xx it can return."""

from typing import Any

from django.conf import settings
from drf_spectacular.openapi import AutoSchema as _SpectacularAutoSchema

from core.errors import all_error_codes

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error. Clients switch on `code`; `message` is for people; `extra` carries details "
    "(`fields` for validation errors, `retry_after_seconds` when throttled).",
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable; never renamed. `validation_error` names each bad field in `extra.fields` "
            "with a code of its own (`required`, `invalid`, `unknown_field`, `duplicate_key`, ...).",
            "example": "validation_error",
        },
        "message": {"type": "string"},
        "extra": {"type": "object", "additionalProperties": True},
    },
    "required": ["code", "message", "extra"],
}

_ERROR_STATUSES = {
    "400": "Invalid input (`validation_error`, `parse_error`, or a domain code).",
    "401": "Not authenticated, or the token is invalid, expired or revoked.",
    "403": "Authenticated but not allowed.",
    "404": "No such object, or it is hidden from you.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Conflicts with the current state.",
    "413": "Payload too large.",
    "415": "Unsupported media type.",
    "422": "Well-formed but refused by a rule: the content policy (`policy_*`) or a cameo owner's restrictions.",
    "429": "Throttled (`extra.retry_after_seconds` says when to retry) or over a limit (`quota_exceeded`, "
    "`too_many_running`).",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    error_schema = {**ERROR_SCHEMA, "properties": {**ERROR_SCHEMA["properties"]}}
    error_schema["properties"]["code"] = {**ERROR_SCHEMA["properties"]["code"], "enum": all_error_codes()}
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = error_schema
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in _ERROR_STATUSES.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result


class AutoSchema(_SpectacularAutoSchema):
    """Names the nested `InputSerializer`/`OutputSerializer` of each API class after that class
    (`SignupApi.OutputSerializer` → `SignupOutput`), so components never collide; declares anonymous
    operations as such."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and not self.view.get_authenticators():
            # A view that reads no credentials (sign-up, login, refresh, CSRF, e-mail verification) is
            # anonymous: `security: []`. Spectacular's `[{}]` reads to client generators as "authenticated".
            operation["security"] = []
        return operation

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "response" and schema.get("properties"):
            # An output has every field its serializer declares (a model default makes a field optional
            # to write, not to read): all required, or generated clients type each one "maybe absent".
            schema["required"] = sorted(schema["properties"])
        return schema

    def _get_serializer_name(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        path = cls.__qualname__.split(".")
        if len(path) > 1 and not name.startswith(path[-2]):
            return path[-2].removesuffix("Api") + name
        return name

    def get_description(self) -> str:
        """The operation's own description, then its rate limit when it has one (core/throttling.py)."""
        description = super().get_description() or ""
        scope = getattr(self.view, "throttle_scope", None)
        throttled = [
            throttle
            for throttle in self.view.get_throttles()
            if self.method.upper() in getattr(throttle, "methods", (self.method.upper(),))
        ]
        if not scope or not throttled:
            return description
        rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(scope)
        limit = (
            f"**Rate limit**: {rate} (scope `{scope}`), counted per account when signed in, else per client "
            "address; over it the answer is 429 `throttled` with a `Retry-After` header."
        )
        return f"{description}\n\n{limit}" if description else limit
