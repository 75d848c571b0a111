from datetime import date

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

ADULT_AGE = 18

# Usernames are what people type after `@` in a prompt: letters, digits and underscores only.
username_validator = RegexValidator(
    r"^[A-Za-z0-9_]{3,30}\Z",
    "3 to 30 characters: letters, digits and underscores.",
    code="invalid_username",
)


class CaseInsensitiveUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> "User":
        return self.get(username__lower=username.lower())


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


class User(AbstractUser):
    username = models.CharField(
        max_length=30,
        unique=True,
        validators=[username_validator],
        help_text="Unique, case-insensitive; the @handle.",
    )
    first_name = None
    last_name = None
    email = models.EmailField()
    display_name = models.CharField(max_length=50, blank=True)
    bio = models.CharField(max_length=300, blank=True)
    avatar = models.ImageField(upload_to="avatars/", blank=True)
    birth_date = models.DateField(null=True, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Carried in every token as the `tv` claim; bumping it refuses every token issued before (logout
    # everywhere, password change, deactivation take effect at once, not when access tokens expire).
    token_version = models.PositiveIntegerField(default=0)
    # Suspended by a moderator until then: no sign-in, no token refresh, no request (accounts/authentication).
    suspended_until = models.DateTimeField(null=True, blank=True)
    # Banned by a moderator (the account is also inactive): sign-in says `account_banned`, not the generic
    # refusal an account deleted or switched off by staff gets. Cleared when an appeal reverses the ban.
    banned_at = models.DateTimeField(null=True, blank=True)

    objects = CaseInsensitiveUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > timezone.now()

    def __str__(self) -> str:
        return self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django keeps this HMAC in every web session and logs a session out when it no longer matches. It
        covers the token version as well as the password, so that "log out everywhere" (and whatever else
        bumps the version) ends web sessions too, not only tokens."""
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.token_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def is_minor(self) -> bool:
        """Under 18, or of unknown age: teen protections apply until an adult birth date is known."""
        if self.birth_date is None:
            return True
        return age_on(self.birth_date, timezone.localdate()) < ADULT_AGE

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class Handle(models.Model):
    """One row per @name a prompt can mention. Usernames and character handles share this namespace, so
    a mention is never ambiguous: the sign-up service and the character service each claim the name in the
    transaction that creates the user or the character, and this unique index (case-insensitive) settles a
    race between the two. Never released: a deleted account or character keeps its name, so that nobody
    else can later be mistaken for it."""

    name = models.CharField(max_length=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), name="accounts_handle_name_ci_unique")]

    def __str__(self) -> str:
        return f"@{self.name}"


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_edges")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_edges")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="accounts_follow_unique"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="accounts_follow_not_self"
            ),
        ]
        indexes = [models.Index(fields=["followee", "follower"])]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class Block(models.Model):
    """Hides both people from each other everywhere, and forbids cameo use in both directions."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="accounts_block_unique"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="accounts_block_not_self"
            ),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"])]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Mute(models.Model):
    """One-way: the muter stops seeing the muted user's content; the muted user notices nothing."""

    muter = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mutes_made")
    muted = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mutes_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="accounts_mute_unique"),
            models.CheckConstraint(
                condition=~models.Q(muter=models.F("muted")), name="accounts_mute_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.muter_id} mutes {self.muted_id}"
