"""The error codes of generation (jobs, drafts, the content policy, remixes, provenance). See core.errors;
the prompt language's own codes are ml.prompt's `ERROR_CODES`."""

from enum import StrEnum


class GenerationError(StrEnum):
    GENERATION_NOT_FOUND = "generation_not_found"
    GENERATION_NOT_CANCELABLE = "generation_not_cancelable"
    GENERATION_NOT_PUBLISHABLE = "generation_not_publishable"
    GENERATION_REMOVED = "generation_removed"
    APPEARANCE_NOT_FOUND = "appearance_not_found"
    REMIX_SOURCE_NOT_FOUND = "remix_source_not_found"
    CONSENT_REVOKED = "consent_revoked"
    CAMEO_RESTRICTED = "cameo_restricted"
    QUOTA_EXCEEDED = "quota_exceeded"
    TOO_MANY_RUNNING = "too_many_running"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    BAD_IDEMPOTENCY_KEY = "bad_idempotency_key"
    INVALID_FILTER = "invalid_filter"
    # The platform's content policy (generation.policy), on prompts and on what a video says.
    POLICY_MINORS = "policy_minors"
    POLICY_SEXUAL_REAL_PERSON = "policy_sexual_real_person"
    POLICY_BLOCKED_CATEGORY = "policy_blocked_category"
    POLICY_REAL_PERSON = "policy_real_person"
