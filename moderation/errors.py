"""The error codes of moderation (reports, cases, decisions). See core.errors."""

from enum import StrEnum


class ModerationError(StrEnum):
    REPORT_ALREADY_OPEN = "report_already_open"
    CANNOT_REPORT_YOURSELF = "cannot_report_yourself"
    REPORT_TARGET_NOT_FOUND = "report_target_not_found"
    CASE_NOT_FOUND = "case_not_found"
    CASE_CLAIMED = "case_claimed"
    CASE_RESOLVED = "case_resolved"
    CASE_NOT_CLAIMED_BY_YOU = "case_not_claimed_by_you"
    INVALID_QUEUE_FILTER = "invalid_queue_filter"  # a bad filter on the queue or the audit log
    DECISION_NOT_APPLICABLE = "decision_not_applicable"
    RULE_REQUIRED = "rule_required"
    SUSPENSION_DAYS_REQUIRED = "suspension_days_required"
    DECISION_NOT_FOUND = "decision_not_found"  # no decision about you with that id (404)
    APPEAL_NOT_ALLOWED = "appeal_not_allowed"  # a dismissal, a verification, or a decision already reversed
    APPEAL_ALREADY_FILED = "appeal_already_filed"  # one appeal per decision (409)
    APPEAL_WINDOW_CLOSED = "appeal_window_closed"  # past MODERATION_APPEAL_WINDOW_DAYS (409)
    INVALID_EXPORT_FORMAT = "invalid_export_format"
