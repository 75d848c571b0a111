"""The web's sign-in and sign-out: a session, as the API's session login makes, for the server-rendered
pages (a person's cameo page, the moderator console). Django's own views, so CSRF, the session's rotation
on sign-in and the `next` redirect check come with them; `accounts.authentication.AccountBackend` refuses
inactive and suspended accounts here as everywhere."""

from django.contrib.auth import views as auth_views
from django.urls import path

from core.throttling import throttle_posts_by_address


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET), so that a link elsewhere cannot sign someone out."""


urlpatterns = [
    # Password guessing through the web form is limited per address, like the API's login.
    path("login/", throttle_posts_by_address(SignInView.as_view(), scope="login"), name="web-sign-in"),
    path("logout/", SignOutView.as_view(), name="web-sign-out"),
]
