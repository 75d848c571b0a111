from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination as DrfCursorPagination
from rest_framework.request import Request

from core.parsing import parse_ascii_int


class CursorPagination(DrfCursorPagination):
    """Opaque cursors over a unique, monotonic key: stable under inserts, one query per page."""

    ordering = "-id"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        # DRF ignores a malformed page_size; a client that sends one has a bug worth telling it about.
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        raw = values[-1]
        size = parse_ascii_int(raw)
        if size is None or not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Must be an integer from 1 to {self.max_page_size}; got {raw!r}."
                    ]
                }
            )
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters
