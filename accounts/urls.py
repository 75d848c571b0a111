from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/signup/", apis.SignupApi.as_view(), name="auth-signup"),
    path("auth/token/", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/token/refresh/", apis.RefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/password/", apis.PasswordChangeApi.as_view(), name="auth-password-change"),
    path("auth/email/verify/", apis.EmailVerifyApi.as_view(), name="auth-email-verify"),
    path("auth/email/resend/", apis.EmailVerificationResendApi.as_view(), name="auth-email-resend"),
    path("auth/csrf/", apis.CsrfApi.as_view(), name="auth-csrf"),
    path("auth/session/login/", apis.SessionLoginApi.as_view(), name="auth-session-login"),
    path("auth/session/logout/", apis.SessionLogoutApi.as_view(), name="auth-session-logout"),
    path("users/me/", apis.MeApi.as_view(), name="users-me"),
    path("users/me/delete/", apis.AccountDeleteApi.as_view(), name="users-me-delete"),
    path("users/me/mutuals/", apis.MutualsListApi.as_view(), name="users-me-mutuals"),
    path("users/me/blocks/", apis.BlocksListApi.as_view(), name="users-me-blocks"),
    path("users/me/mutes/", apis.MutesListApi.as_view(), name="users-me-mutes"),
    path("users/<str:username>/", apis.UserDetailApi.as_view(), name="users-detail"),
    path("users/<str:username>/followers/", apis.FollowersListApi.as_view(), name="users-followers"),
    path("users/<str:username>/following/", apis.FollowingListApi.as_view(), name="users-following"),
    path("users/<str:username>/follow/", apis.FollowApi.as_view(), name="users-follow"),
    path("users/<str:username>/block/", apis.BlockApi.as_view(), name="users-block"),
    path("users/<str:username>/mute/", apis.MuteApi.as_view(), name="users-mute"),
]
