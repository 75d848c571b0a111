"""Accounts API: one class per operation, plain input/output serializers, logic in services/selectors."""

from typing import Any

from django.contrib.auth import login as session_login
from django.contrib.auth import logout as session_logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import selectors, services
from accounts.authentication import TOKEN_VERSION_CLAIM, token_is_revoked
from accounts.errors import AccountError
from accounts.models import User, username_validator
from core.errors import CoreError
from core.exceptions import ApplicationError
from core.fields import StrictBooleanField, StrictCharField
from core.serializers import StrictInputMixin, StrictInputSerializer


class PublicUserSerializer(serializers.ModelSerializer):
    avatar_url = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "bio", "avatar_url"]

    def get_avatar_url(self, user: User) -> str | None:
        return user.avatar.url if user.avatar else None


class MeSerializer(PublicUserSerializer):
    class Meta(PublicUserSerializer.Meta):
        fields = [
            *PublicUserSerializer.Meta.fields,
            "email",
            "email_verified",
            "birth_date",
            "is_minor",
            "date_joined",
        ]


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthThrottleMixin:
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class SignupApi(AuthThrottleMixin, APIView):
    throttle_scope = "signup"
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictInputSerializer):
        username = StrictCharField(max_length=30, validators=[username_validator])
        email = serializers.EmailField()
        # min_length mirrors MinimumLengthValidator (AUTH_PASSWORD_VALIDATORS), so the schema says it.
        password = StrictCharField(
            write_only=True, min_length=8, max_length=128, style={"input_type": "password"}
        )
        birth_date = serializers.DateField()
        display_name = StrictCharField(max_length=50, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        user = MeSerializer()
        access = serializers.CharField()
        refresh = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, operation_id="auth_signup")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        body = {"user": user, **services.tokens_issue(user=user)}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class LoginSerializer(StrictInputMixin, TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user: User) -> Any:
        token = super().get_token(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        return token

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except AuthenticationFailed:
            # Refused: say so precisely when a moderation decision is why and the password was right.
            refusal = selectors.sign_in_refusal_for_credentials(
                username=attrs[self.username_field], password=attrs["password"]
            )
            if refusal is not None:
                raise refusal from None
            raise


class LoginApi(AuthThrottleMixin, TokenObtainPairView):
    """Exchange username (any case) and password for a short-lived access token and a refresh token."""

    throttle_scope = "login"
    serializer_class = LoginSerializer

    @extend_schema(responses={200: TokenPairSerializer}, operation_id="auth_login")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class RefreshSerializer(StrictInputMixin, TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self._refuse_kept_out_account(attrs["refresh"])
        try:
            refresh = RefreshToken(attrs["refresh"])
        except Exception:
            return super().validate(attrs)  # lets simplejwt word the refusal
        user = User.objects.filter(pk=refresh.get("user_id")).first()
        if user is not None and token_is_revoked(user=user, token=refresh):
            raise ApplicationError(AccountError.TOKEN_NOT_VALID, "Token has been revoked.", status=401)
        return super().validate(attrs)

    @staticmethod
    def _refuse_kept_out_account(raw: str) -> None:
        """A genuine, unexpired refresh token of a banned or suspended account (revoked by that decision)
        is answered with why (`sign_in_refusal`), not as merely revoked."""
        try:
            payload = token_backend.decode(raw, verify=True)
        except TokenBackendError:
            return
        if payload.get("token_type") != "refresh":
            return
        user = User.objects.filter(pk=payload.get("user_id")).first()
        refusal = selectors.sign_in_refusal(user) if user is not None else None
        if refusal is not None:
            raise refusal


class RefreshApi(AuthThrottleMixin, TokenRefreshView):
    """Trade a refresh token for a new pair. Each refresh token works once: reusing it is refused."""

    serializer_class = RefreshSerializer

    @extend_schema(responses={200: TokenPairSerializer}, operation_id="auth_refresh")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class LogoutApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictInputSerializer):
        refresh = StrictCharField()
        everywhere = StrictBooleanField(
            default=False,
            help_text="Revoke every token of this account, end its web sessions and close its open sockets.",
        )

    @extend_schema(request=InputSerializer, responses={204: None}, operation_id="auth_logout")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.logout(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(AuthThrottleMixin, APIView):
    throttle_scope = "password"

    class InputSerializer(StrictInputSerializer):
        old_password = StrictCharField(max_length=128)
        new_password = StrictCharField(min_length=8, max_length=128)

    @extend_schema(
        request=InputSerializer, responses={200: TokenPairSerializer}, operation_id="auth_password_change"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.password_change(user=request.user, **data.validated_data)
        if request.session.session_key:
            session_login(request._request, request.user)  # keep this browser's session, drop the others'
        return Response(TokenPairSerializer(tokens).data)


class EmailVerifyApi(AuthThrottleMixin, APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictInputSerializer):
        token = StrictCharField(max_length=500)

    @extend_schema(request=InputSerializer, responses={200: MeSerializer}, operation_id="auth_email_verify")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.email_verify(token=data.validated_data["token"])
        return Response(MeSerializer(user).data)


class EmailVerificationResendApi(AuthThrottleMixin, APIView):
    @extend_schema(request=None, responses={202: None}, operation_id="auth_email_resend")
    def post(self, request: Request) -> Response:
        if request.user.email_verified:
            raise ApplicationError(
                AccountError.EMAIL_ALREADY_VERIFIED, "Your e-mail address is already verified.", status=409
            )
        from accounts.tasks import send_verification_email_task
        from core.tasks import enqueue_on_commit

        enqueue_on_commit(send_verification_email_task, request.user.pk)
        return Response(status=status.HTTP_202_ACCEPTED)


class CsrfApi(APIView):
    """Web clients: fetch a CSRF token (also set as a cookie) before a session login."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        csrf_token = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer}, operation_id="auth_csrf")
    def get(self, request: Request) -> Response:
        return Response({"csrf_token": get_token(request._request)})


class SessionLoginApi(AuthThrottleMixin, APIView):
    """Web clients: sign in with a session cookie. Requires the CSRF token in `X-CSRFToken`."""

    throttle_scope = "login"
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictInputSerializer):
        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=128)

    @extend_schema(request=InputSerializer, responses={200: MeSerializer}, operation_id="auth_session_login")
    def post(self, request: Request) -> Response:
        from django.contrib.auth import authenticate

        # DRF exempts its views from CSRF; a session login must not be (login CSRF), so check it here.
        SessionAuthentication().enforce_csrf(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, **data.validated_data)
        if user is None:
            refusal = selectors.sign_in_refusal_for_credentials(**data.validated_data)
            if refusal is not None:
                raise refusal
            raise ApplicationError(
                CoreError.AUTHENTICATION_FAILED,
                "No active account found with the given credentials.",
                status=401,
            )
        session_login(request._request, user)
        return Response(MeSerializer(user).data)


class SessionLogoutApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None}, operation_id="auth_session_logout")
    def post(self, request: Request) -> Response:
        session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """Your own profile. (One resource, two operations: read and partial update.)"""

    class UpdateInputSerializer(StrictInputSerializer):
        display_name = StrictCharField(max_length=50, required=False, allow_blank=True)
        bio = StrictCharField(max_length=300, required=False, allow_blank=True)
        birth_date = serializers.DateField(required=False)

    @extend_schema(responses={200: MeSerializer}, operation_id="users_me_get")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        request=UpdateInputSerializer, responses={200: MeSerializer}, operation_id="users_me_update"
    )
    def patch(self, request: Request) -> Response:
        data = self.UpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, data=data.validated_data)
        return Response(MeSerializer(user).data)


class AccountDeleteApi(APIView):
    """Delete your account: it is deactivated at once; your cameo's media, embeddings and transcripts are
    then erased from the database and storage."""

    class InputSerializer(StrictInputSerializer):
        password = StrictCharField(max_length=128)

    @extend_schema(request=InputSerializer, responses={202: None}, operation_id="users_me_delete")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_delete(user=request.user, password=data.validated_data["password"])
        if request.session.session_key:
            session_logout(request._request)
        return Response(status=status.HTTP_202_ACCEPTED)


class UserDetailApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(PublicUserSerializer):
        followers_count = serializers.IntegerField()
        following_count = serializers.IntegerField()

        class Meta(PublicUserSerializer.Meta):
            fields = [*PublicUserSerializer.Meta.fields, "followers_count", "following_count"]

    @extend_schema(responses={200: OutputSerializer}, operation_id="users_get")
    def get(self, request: Request, username: str) -> Response:
        user = selectors.user_get_visible(viewer=request.user, username=username)
        user.followers_count = user.follower_edges.count()  # type: ignore[attr-defined]
        user.following_count = user.following_edges.count()  # type: ignore[attr-defined]
        return Response(self.OutputSerializer(user).data)


class _RelationApi(APIView):
    """POST creates the relation from you to @username, DELETE removes it; both are idempotent."""

    # Whether the target must be visible to you (a block in either direction hides it).
    target_must_be_visible = True

    def _target(self, request: Request, username: str) -> User:
        if self.target_must_be_visible:
            return selectors.user_get_visible(viewer=request.user, username=username)
        return selectors.user_get_by_username(username=username)


class FollowApi(_RelationApi):
    @extend_schema(request=None, responses={204: None}, operation_id="users_follow")
    def post(self, request: Request, username: str) -> Response:
        services.follow_create(follower=request.user, followee=self._target(request, username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None}, operation_id="users_unfollow")
    def delete(self, request: Request, username: str) -> Response:
        services.follow_delete(
            follower=request.user, followee=selectors.user_get_by_username(username=username)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockApi(_RelationApi):
    target_must_be_visible = False

    @extend_schema(request=None, responses={204: None}, operation_id="users_block")
    def post(self, request: Request, username: str) -> Response:
        services.block_create(blocker=request.user, blocked=self._target(request, username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None}, operation_id="users_unblock")
    def delete(self, request: Request, username: str) -> Response:
        services.block_delete(blocker=request.user, blocked=self._target(request, username))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MuteApi(_RelationApi):
    @extend_schema(request=None, responses={204: None}, operation_id="users_mute")
    def post(self, request: Request, username: str) -> Response:
        services.mute_create(muter=request.user, muted=self._target(request, username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None}, operation_id="users_unmute")
    def delete(self, request: Request, username: str) -> Response:
        services.mute_delete(muter=request.user, muted=selectors.user_get_by_username(username=username))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _UserListApi(ListAPIView):
    serializer_class = PublicUserSerializer
    ordering = "-id"


class FollowersListApi(_UserListApi):
    permission_classes = [AllowAny]

    def get_queryset(self) -> Any:
        user = selectors.user_get_visible(viewer=self.request.user, username=self.kwargs["username"])
        return selectors.followers_of(user=user, viewer=self.request.user)


class FollowingListApi(_UserListApi):
    permission_classes = [AllowAny]

    def get_queryset(self) -> Any:
        user = selectors.user_get_visible(viewer=self.request.user, username=self.kwargs["username"])
        return selectors.following_of(user=user, viewer=self.request.user)


class MutualsListApi(_UserListApi):
    def get_queryset(self) -> Any:
        return selectors.mutuals_of(user=self.request.user)


class BlocksListApi(_UserListApi):
    def get_queryset(self) -> Any:
        return selectors.blocks_of(user=self.request.user)


class MutesListApi(_UserListApi):
    def get_queryset(self) -> Any:
        return selectors.mutes_of(user=self.request.user)
