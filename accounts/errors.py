"""The error codes of accounts (sign-up, tokens, e-mail, the social graph). See core.errors."""

from enum import StrEnum


class AccountError(StrEnum):
    INVALID_BIRTH_DATE = "invalid_birth_date"
    TOO_YOUNG = "too_young"
    BIRTH_DATE_LOCKED = "birth_date_locked"
    USERNAME_TAKEN = "username_taken"
    EMAIL_TAKEN = "email_taken"
    EMAIL_ALREADY_VERIFIED = "email_already_verified"
    VERIFICATION_EXPIRED = "verification_expired"
    VERIFICATION_INVALID = "verification_invalid"
    WRONG_PASSWORD = "wrong_password"
    USER_NOT_FOUND = "user_not_found"  # also simplejwt's, for a token whose user is gone (401)
    CANNOT_FOLLOW_SELF = "cannot_follow_self"
    CANNOT_BLOCK_SELF = "cannot_block_self"
    CANNOT_MUTE_SELF = "cannot_mute_self"
    # Tokens: ours and the ones rest_framework_simplejwt raises.
    TOKEN_NOT_VALID = "token_not_valid"
    TOKEN_REVOKED = "token_revoked"
    NO_ACTIVE_ACCOUNT = "no_active_account"
    USER_INACTIVE = "user_inactive"
    BAD_AUTHORIZATION_HEADER = "bad_authorization_header"
    PASSWORD_CHANGED = "password_changed"
    ACCOUNT_SUSPENDED = "account_suspended"  # sign-in, refresh and requests while suspended (401)
    ACCOUNT_BANNED = "account_banned"  # sign-in and refresh of a banned account (401)
