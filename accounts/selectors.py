"""Reads about people and the graph between them. Blocks hide both ways; every lookup of another user
made on someone's behalf goes through `user_get_visible`."""

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.authentication import restricted_access_token
from accounts.errors import AccountError
from accounts.models import ADULT_AGE, Block, Follow, Mute, User
from core.exceptions import ApplicationError


def is_blocked_between(a: User, b: User) -> bool:
    """True if either has blocked the other."""
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def blocked_user_ids(user: User) -> set[int]:
    """Everyone hidden from `user` by a block, in either direction."""
    pairs = Block.objects.filter(Q(blocker=user) | Q(blocked=user)).values_list("blocker_id", "blocked_id")
    return {other for pair in pairs for other in pair if other != user.pk}


def user_get_by_username(*, username: str) -> User:
    user = User.objects.filter(username__lower=username.lower(), is_active=True).first()
    if user is None:
        raise ApplicationError(AccountError.USER_NOT_FOUND, f"No user @{username}.", status=404)
    return user


def user_get_visible(*, viewer: User | None, username: str) -> User:
    """The active user `username` as `viewer` may see them: a block either way hides them (404, the same
    answer as for nobody, so a block cannot be probed)."""
    user = user_get_by_username(username=username)
    if (
        viewer is not None
        and viewer.is_authenticated
        and viewer.pk != user.pk
        and is_blocked_between(viewer, user)
    ):
        raise ApplicationError(AccountError.USER_NOT_FOUND, f"No user @{username}.", status=404)
    return user


def _visible_to(queryset: QuerySet[User], viewer: User | None) -> QuerySet[User]:
    queryset = queryset.filter(is_active=True)
    if viewer is None or not viewer.is_authenticated:
        return queryset
    return queryset.exclude(
        Exists(Block.objects.filter(blocker=viewer, blocked=OuterRef("pk")))
        | Exists(Block.objects.filter(blocker=OuterRef("pk"), blocked=viewer))
    )


def followers_of(*, user: User, viewer: User | None) -> QuerySet[User]:
    return _visible_to(User.objects.filter(following_edges__followee=user), viewer)


def following_of(*, user: User, viewer: User | None) -> QuerySet[User]:
    return _visible_to(User.objects.filter(follower_edges__follower=user), viewer)


def mutuals_of(*, user: User) -> QuerySet[User]:
    """People who follow `user` and whom `user` follows back."""
    return _visible_to(
        User.objects.filter(
            Exists(Follow.objects.filter(follower=user, followee=OuterRef("pk"))),
            Exists(Follow.objects.filter(follower=OuterRef("pk"), followee=user)),
        ),
        user,
    )


def are_mutuals(a: User, b: User) -> bool:
    return (
        Follow.objects.filter(follower=a, followee=b).exists()
        and Follow.objects.filter(follower=b, followee=a).exists()
    )


def blocks_of(*, user: User) -> QuerySet[User]:
    return User.objects.filter(blocks_received__blocker=user)


def mutes_of(*, user: User) -> QuerySet[User]:
    return User.objects.filter(mutes_received__muter=user)


def muted_user_ids(user: User) -> set[int]:
    return set(Mute.objects.filter(muter=user).values_list("muted_id", flat=True))


def sign_in_refusal(user: User) -> ApplicationError | None:
    """Why a moderation decision keeps this account out, for someone who proved they hold it (the right
    password, or a refresh token of theirs): `account_banned` or `account_suspended` (with the end in
    `extra.suspended_until`), rather than the generic refusal that would say nothing. Either carries
    `extra.restricted_token`, with which the account may still read its moderation decisions and appeal
    them (`Authorization: Restricted <token>`). None otherwise."""
    if user.banned_at is not None:
        return ApplicationError(
            AccountError.ACCOUNT_BANNED,
            "This account is banned.",
            status=401,
            extra={"restricted_token": restricted_access_token(user)},
        )
    if user.is_active and user.is_suspended():
        assert user.suspended_until is not None
        return ApplicationError(
            AccountError.ACCOUNT_SUSPENDED,
            f"This account is suspended until {user.suspended_until:%Y-%m-%d %H:%M} UTC.",
            status=401,
            extra={
                "suspended_until": user.suspended_until.isoformat(),
                "restricted_token": restricted_access_token(user),
            },
        )
    return None


def sign_in_refusal_for_credentials(*, username: str, password: str) -> ApplicationError | None:
    """`sign_in_refusal` for a password sign-in that the backend refused: only when the password is right,
    so the code reveals nothing to someone who does not hold the account."""
    user = User.objects.filter(username__lower=username.lower()).first()
    if user is None or not user.check_password(password):
        return None
    return sign_in_refusal(user)


def latest_adult_birth_date() -> date:
    """The latest birth date of someone 18 or older today: `User.is_minor`'s rule in a form a query can
    compare (`birth_date <= this` is an adult; a later or unknown birth date is a minor). Someone born on
    29 February comes of age on 1 March in a year without one."""
    today = timezone.localdate()
    if (today.month, today.day) == (2, 29):
        return date(today.year - ADULT_AGE, 2, 28)
    return today.replace(year=today.year - ADULT_AGE)


def is_adult_q(user_field: str) -> Q:
    """The user in `user_field` is known to be an adult (the opposite of `User.is_minor`)."""
    return Q(**{f"{user_field}__birth_date__lte": latest_adult_birth_date()})


def mutuals_with_q(viewer: User, user_field: str) -> Q:
    """`viewer` and the user in `user_field` of the outer row follow each other."""
    return Q(Exists(Follow.objects.filter(follower=viewer, followee=OuterRef(user_field)))) & Q(
        Exists(Follow.objects.filter(follower=OuterRef(user_field), followee=viewer))
    )
