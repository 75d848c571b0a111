"""The error codes of cameos (recording, uploads, characters, access requests, settings). See core.errors;
media codes are core's (`CoreError.MEDIA_*`)."""

from enum import StrEnum


class CameoError(StrEnum):
    CAMEO_NOT_FOUND = "cameo_not_found"
    CAMEO_EXISTS = "cameo_exists"
    CAMEO_NOT_VERIFIED = "cameo_not_verified"
    CAMEO_PERMISSION_DENIED = "cameo_permission_denied"
    CAMEO_NOT_ACCEPTING_REQUESTS = "cameo_not_accepting_requests"
    CANNOT_REQUEST_OWN_CAMEO = "cannot_request_own_cameo"
    MINOR_CANNOT_SHARE_WITH_EVERYONE = "minor_cannot_share_with_everyone"
    ACCESS_REQUEST_NOT_FOUND = "access_request_not_found"
    ACCESS_REQUEST_DENIED = "access_request_denied"
    MESSAGE_TO_MINOR_NOT_ALLOWED = "message_to_minor_not_allowed"  # only a mutual may write to a minor
    CAMEO_NOT_IN_REVIEW = "cameo_not_in_review"  # a review decision on a cameo that is not held
    TOO_MANY_CHALLENGES = "too_many_challenges"
    CHALLENGE_NOT_FOUND = "challenge_not_found"
    CHALLENGE_USED = "challenge_used"
    CHALLENGE_EXPIRED = "challenge_expired"
    DIRECT_UPLOAD_UNAVAILABLE = "direct_upload_unavailable"
    UPLOAD_NOT_FOUND = "upload_not_found"
    UPLOAD_EXISTS = "upload_exists"  # the challenge already has an open upload (extra: its id and offset)
    UPLOAD_EXPIRED = "upload_expired"
    TOO_MANY_UPLOADS = "too_many_uploads"  # CAMEO_MAX_OPEN_UPLOADS open at once
    UPLOAD_SPACE_EXCEEDED = "upload_space_exceeded"  # CAMEO_MAX_UPLOAD_SPOOL_BYTES_PER_USER reserved
    TOO_MANY_CHARACTERS = "too_many_characters"  # CAMEO_MAX_CHARACTERS_PER_OWNER
    UPLOAD_OFFSET_REQUIRED = "upload_offset_required"  # missing, or not 1 to 18 ASCII digits
    UPLOAD_OFFSET_MISMATCH = "upload_offset_mismatch"
    UPLOAD_EMPTY_CHUNK = "upload_empty_chunk"
    UPLOAD_TOO_LONG = "upload_too_long"
    UPLOAD_INCOMPLETE = "upload_incomplete"
    HANDLE_TAKEN = "handle_taken"
    GUIDANCE_REJECTED = "guidance_rejected"
    INVALID_FORBIDDEN_WORD = "invalid_forbidden_word"
    TOO_MANY_FORBIDDEN_WORDS = "too_many_forbidden_words"
    INVALID_DIRECTION = "invalid_direction"
