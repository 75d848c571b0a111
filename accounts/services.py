"""Writes about people: sign-up, e-mail verification, tokens, profile, follow, block, mute."""

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import refresh_token_for
from accounts.errors import AccountError
from accounts.models import Block, Follow, Handle, Mute, User, age_on
from accounts.selectors import is_blocked_between
from accounts.signals import (
    follow_created,
    follow_removed,
    user_blocked,
    user_deactivated,
    user_erasure_requested,
)
from core.exceptions import ApplicationError
from core.realtime import SocketCloseReason, user_sockets_close
from core.tasks import enqueue_on_commit

MINIMUM_AGE = 13
_EMAIL_SALT = "accounts.email-verification"


def _check_birth_date(birth_date: date) -> None:
    today = timezone.localdate()
    if birth_date > today:
        raise ApplicationError(AccountError.INVALID_BIRTH_DATE, "Birth date is in the future.")
    if age_on(birth_date, today) < MINIMUM_AGE:
        raise ApplicationError(
            AccountError.TOO_YOUNG, f"You must be at least {MINIMUM_AGE} to sign up.", status=403
        )


@transaction.atomic
def user_create(
    *, username: str, email: str, password: str, birth_date: date, display_name: str = ""
) -> User:
    """Create an account and send its verification e-mail once the row is committed."""
    _check_birth_date(birth_date)
    if User.objects.filter(username__lower=username.lower()).exists() or handle_is_taken(name=username):
        raise ApplicationError(AccountError.USERNAME_TAKEN, f"@{username} is taken.", status=409)
    if User.objects.filter(email__lower=email.lower()).exists():
        raise ApplicationError(
            AccountError.EMAIL_TAKEN, "An account with this e-mail already exists.", status=409
        )
    user = User(
        username=username, email=email.strip(), birth_date=birth_date, display_name=display_name or username
    )
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save()
            handle_claim(name=username)
    except IntegrityError as exc:  # lost a race for the name (a sign-up or a character) or the e-mail
        raise ApplicationError(
            AccountError.USERNAME_TAKEN, f"@{username} or this e-mail is taken.", status=409
        ) from exc

    from accounts.tasks import send_verification_email_task

    enqueue_on_commit(send_verification_email_task, user.pk)
    return user


def handle_is_taken(*, name: str) -> bool:
    """Whether @name is a username or a character handle already (see `Handle`)."""
    return Handle.objects.filter(name__lower=name.lower()).exists()


def handle_claim(*, name: str) -> Handle:
    """Take @name in the namespace users and characters share. Call it inside the transaction that creates
    the user or the character: it raises IntegrityError when the name is taken, a concurrent claim
    included (the unique index decides), which the caller turns into its own "taken" error."""
    with transaction.atomic():
        return Handle.objects.create(name=name)


def email_verification_token(*, user: User) -> str:
    return signing.dumps({"uid": user.pk, "email": user.email.lower()}, salt=_EMAIL_SALT)


def email_verify(*, token: str) -> User:
    """Mark the address in the token verified; a token for an address since changed is refused."""
    try:
        payload = signing.loads(token, salt=_EMAIL_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise ApplicationError(
            AccountError.VERIFICATION_EXPIRED, "This verification link has expired."
        ) from exc
    except signing.BadSignature as exc:
        raise ApplicationError(
            AccountError.VERIFICATION_INVALID, "This verification link is not valid."
        ) from exc
    user = User.objects.filter(pk=payload.get("uid"), is_active=True).first()
    if user is None or user.email.lower() != payload.get("email"):
        raise ApplicationError(AccountError.VERIFICATION_INVALID, "This verification link is not valid.")
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def tokens_issue(*, user: User) -> dict[str, str]:
    refresh = refresh_token_for(user)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


@transaction.atomic
def tokens_revoke_all(
    *, user: User, reason: SocketCloseReason = SocketCloseReason.LOGGED_OUT_EVERYWHERE
) -> None:
    """Refuse every token issued so far, access tokens included, from the next request on; end every web
    session (the session auth hash covers the token version); close every open socket once committed."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    user_sockets_close(user_id=user.pk, reason=reason)


def logout(*, refresh: str, everywhere: bool = False) -> None:
    """Revoke one refresh token (this device), or every token of its owner."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise ApplicationError(
            AccountError.TOKEN_NOT_VALID, "Token is invalid or expired.", status=401
        ) from exc
    if everywhere:
        user = User.objects.filter(pk=token.get("user_id")).first()
        if user is not None:
            tokens_revoke_all(user=user)
            return
    token.blacklist()


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> dict[str, str]:
    """Change the password, revoke every token, and return a fresh pair for the device that asked."""
    if not user.check_password(old_password):
        raise ApplicationError(AccountError.WRONG_PASSWORD, "The current password is not correct.")
    validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user, reason=SocketCloseReason.PASSWORD_CHANGED)
    return tokens_issue(user=user)


_PROFILE_FIELDS = ("display_name", "bio", "birth_date")


@transaction.atomic
def user_update_profile(*, user: User, data: dict[str, Any]) -> User:
    changed = [field for field in _PROFILE_FIELDS if field in data and getattr(user, field) != data[field]]
    if "birth_date" in changed:
        # A birth date may be corrected, but never to one that would make a minor an adult by editing.
        _check_birth_date(data["birth_date"])
        if user.is_minor and age_on(data["birth_date"], timezone.localdate()) >= 18:
            raise ApplicationError(
                AccountError.BIRTH_DATE_LOCKED,
                "Contact support to correct the birth date of a teen account.",
                status=403,
            )
    for field in changed:
        setattr(user, field, data[field])
    if changed:
        user.full_clean()
        user.save(update_fields=changed)
    return user


@transaction.atomic
def follow_create(*, follower: User, followee: User) -> Follow:
    """Follow; following again changes nothing (and tells nobody twice)."""
    if follower.pk == followee.pk:
        raise ApplicationError(AccountError.CANNOT_FOLLOW_SELF, "You cannot follow yourself.")
    if is_blocked_between(follower, followee):
        raise ApplicationError(AccountError.USER_NOT_FOUND, f"No user @{followee.username}.", status=404)
    follow, created = Follow.objects.get_or_create(follower=follower, followee=followee)
    if created:
        follow_created.send(sender=User, follower=follower, followee=followee)
    return follow


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> None:
    deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
    if deleted:
        follow_removed.send(sender=User, follower=follower, followee=followee)


@transaction.atomic
def block_create(*, blocker: User, blocked: User) -> Block:
    """Block, and cut every follow between the two in both directions."""
    if blocker.pk == blocked.pk:
        raise ApplicationError(AccountError.CANNOT_BLOCK_SELF, "You cannot block yourself.")
    block, _ = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    Follow.objects.filter(
        Q(follower=blocker, followee=blocked) | Q(follower=blocked, followee=blocker)
    ).delete()
    user_blocked.send(sender=User, blocker=blocker, blocked=blocked)
    return block


def block_delete(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


def mute_create(*, muter: User, muted: User) -> Mute:
    if muter.pk == muted.pk:
        raise ApplicationError(AccountError.CANNOT_MUTE_SELF, "You cannot mute yourself.")
    mute, _ = Mute.objects.get_or_create(muter=muter, muted=muted)
    return mute


def mute_delete(*, muter: User, muted: User) -> None:
    Mute.objects.filter(muter=muter, muted=muted).delete()


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Staff switch an account off (the admin's "active" box): every token, web session and socket ends."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    tokens_revoke_all(user=user, reason=SocketCloseReason.ACCOUNT_DEACTIVATED)


@transaction.atomic
def user_suspend(*, user: User, until: datetime | None) -> None:
    """Suspend an account until `until` (None lifts a suspension): sign-in and refresh are refused until
    then, every token and session issued so far ends now, and open sockets close (`suspended`)."""
    User.objects.filter(pk=user.pk).update(suspended_until=until)
    user.suspended_until = until
    if until is not None:
        tokens_revoke_all(user=user, reason=SocketCloseReason.SUSPENDED)


@transaction.atomic
def user_ban(*, user: User) -> None:
    """A moderator's ban: the account is switched off like a deactivation (every token, session and socket
    ends; nothing of it is shown), and marked banned so that sign-in says so (`account_banned`)."""
    User.objects.filter(pk=user.pk).update(is_active=False, banned_at=timezone.now())
    user.refresh_from_db(fields=["is_active", "banned_at"])
    tokens_revoke_all(user=user, reason=SocketCloseReason.BANNED)


@transaction.atomic
def user_unban(*, user: User) -> None:
    """Lift a ban (an upheld appeal): the account may sign in again. An account that is not banned (say,
    deleted by its owner since) is left as it is."""
    if User.objects.filter(pk=user.pk, banned_at__isnull=False).update(is_active=True, banned_at=None):
        user.refresh_from_db(fields=["is_active", "banned_at"])


@transaction.atomic
def account_delete(*, user: User, password: str) -> None:
    """Deactivate at once (every token refused, invisible everywhere), then erase in the background."""
    if not user.check_password(password):
        raise ApplicationError(AccountError.WRONG_PASSWORD, "The password is not correct.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    tokens_revoke_all(user=user, reason=SocketCloseReason.ACCOUNT_DELETED)
    user_deactivated.send(sender=User, user=user)
    from accounts.tasks import erase_account_task

    enqueue_on_commit(erase_account_task, user.pk)


def account_erase(*, user_id: int) -> None:
    """Erase a deactivated account's likeness and profile data. Idempotent. The row stays (deactivated,
    scrubbed) so the username is not handed to someone else who could then be mistaken for them. The
    likeness is erased by the cameos app, which receives `user_erasure_requested`."""
    user = User.objects.filter(pk=user_id, is_active=False).first()
    if user is None:
        return
    user_erasure_requested.send(sender=User, user=user)
    if user.avatar:
        user.avatar.delete(save=False)
    User.objects.filter(pk=user.pk).update(
        email=f"deleted-{user.pk}@invalid",
        display_name="",
        bio="",
        avatar="",
        birth_date=None,
        email_verified_at=None,
    )
