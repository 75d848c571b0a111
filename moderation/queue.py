"""Where a case stands in the review queue."""

import math
from datetime import datetime

# One point of priority (a report reason's severity, or an automatic flag's priority) counts as this many
# seconds of waiting: a minor-safety report (100) jumps ahead of a spam report (10) opened 90 hours earlier.
SECONDS_PER_PRIORITY_POINT = 3600
# Each report counts as two hours of waiting, up to twenty reports (a pile-on cannot bury everything else).
SECONDS_PER_REPORT = 2 * 3600
REPORTS_COUNTED_AT_MOST = 20
# Reach counts by orders of magnitude: each tenfold of viewers is three hours of waiting, up to ten million
# (30 hours), so a video seen by 100,000 people (15 hours) goes ahead of one seen by ten, but reach alone
# never outranks a severity step of more than a day and a bit.
SECONDS_PER_TENFOLD_REACH = 3 * 3600
REACH_COUNTED_AT_MOST = 10_000_000


def queue_key(*, opened_at: datetime, priority: int, report_count: int, reach: int = 0) -> int:
    """The case's place in the queue, lowest first: its opening time, moved earlier by its severity, its
    report count and its reach (how many people saw the target). Age needs no term of its own: every case
    ages alike, so the oldest comes first among equals at any moment."""
    head_start = (
        priority * SECONDS_PER_PRIORITY_POINT
        + min(report_count, REPORTS_COUNTED_AT_MOST) * SECONDS_PER_REPORT
        + int(math.log10(1 + min(reach, REACH_COUNTED_AT_MOST)) * SECONDS_PER_TENFOLD_REACH)
    )
    return int(opened_at.timestamp()) - head_start
