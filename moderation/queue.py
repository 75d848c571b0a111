"""Where a case stands in the review queue."""

from datetime import datetime

# One point of priority (a report reason's severity, or an automatic flag's priority) counts as this many
# seconds of waiting: a minor-safety report (100) jumps ahead of a spam report (10) opened 90 hours earlier.
SECONDS_PER_PRIORITY_POINT = 3600
# Each report counts as two hours of waiting, up to twenty reports (a pile-on cannot bury everything else).
SECONDS_PER_REPORT = 2 * 3600
REPORTS_COUNTED_AT_MOST = 20


def queue_key(*, opened_at: datetime, priority: int, report_count: int) -> int:
    """The case's place in the queue, lowest first: its opening time, moved earlier by its severity and
    its report count. Age needs no term of its own: every case ages alike, so the oldest comes first among
    equals at any moment."""
    head_start = (
        priority * SECONDS_PER_PRIORITY_POINT
        + min(report_count, REPORTS_COUNTED_AT_MOST) * SECONDS_PER_REPORT
    )
    return int(opened_at.timestamp()) - head_start
