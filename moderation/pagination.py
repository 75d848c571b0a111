"""How moderation lists page, shared by the API and the console so that both show the same order."""

from core.pagination import CursorPagination


class QueuePagination(CursorPagination):
    """The queue: by the stored rank (`moderation.queue.queue_key`), then the id among equals."""

    # DRF's stub types `ordering` as a single field.
    ordering = ("queue_key", "id")  # type: ignore[assignment]


class AuditPagination(CursorPagination):
    """The audit log, newest first."""

    ordering = "-id"
