"""The API's JSON parser: DRF's, made strict about what Python's `json` quietly accepts."""

import codecs
from typing import Any

from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class StrictJSONParser(JSONParser):
    """Refuses a key given twice in one object (`{"a": 1, "a": 2}`: `json` keeps the last one, while a proxy
    or a signature check in front of us may have read the first) with 400 `validation_error`, the field's
    code `duplicate_key`; a nesting too deep to parse is a `parse_error`, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        encoding = get_encoding(parser_context or {})  # refuses non-text codecs with a parse_error
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json.strict_constant if self.strict else None,
                object_pairs_hook=_object_without_duplicates,
            )
        except _DuplicateKey as exc:
            message = ErrorDetail(f"{exc.key!r} appears more than once.", code="duplicate_key")
            raise ValidationError({exc.key: [message]}) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
