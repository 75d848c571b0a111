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
