from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that takes only strings: DRF's own turns `0` into `"0"`, which the schema says is an
    error and a client should hear about."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
