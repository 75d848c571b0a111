"""The base every API input serializer extends."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError


class StrictInputMixin:
    """Refuses fields the serializer does not declare (400 `validation_error`, each unknown field named in
    `extra.fields` with the code `unknown_field`): a misspelt optional field would otherwise be dropped
    without a word, and the client would believe it had set it."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise ValidationError(
                    {
                        name: [ErrorDetail("This field is not accepted here.", code="unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictInputSerializer(StrictInputMixin, serializers.Serializer):
    """What every `InputSerializer` of an API class extends."""
