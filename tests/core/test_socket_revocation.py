"""Open sockets end when access is revoked: at once through the user's group (`realtime.close`), and, for a
socket that missed that message, at its next credential re-check (before an event, or periodically)."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue, user_deactivate
from core.realtime import SocketCloseReason, push_to_user, user_sockets_close
from sora_social.asgi import application
from tests.core.test_realtime import _close_the_sync_threads_connections, connect, socket_for  # noqa: F401
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def maya(make_user):
    return await database_sync_to_async(make_user)(username="maya")


async def tokens(user) -> dict[str, str]:
    return await database_sync_to_async(tokens_issue)(user=user)


async def open_socket(user) -> WebsocketCommunicator:
    communicator = socket_for((await tokens(user))["access"])
    assert await connect(communicator)
    return communicator


async def closed_by_message(communicator: WebsocketCommunicator) -> tuple[str, int]:
    """The reason the server gave, then the close frame's code."""
    farewell = await communicator.receive_json_from(timeout=10)
    assert farewell["type"] == "connection.closed", farewell
    return farewell["data"]["reason"], await close_code(communicator)


async def close_code(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=10)
    assert output["type"] == "websocket.close", output
    return output["code"]


def bearer_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


class TestRevocationClosesOpenSockets:
    async def test_logout_everywhere(self, maya):
        socket = await open_socket(maya)
        refresh = (await tokens(maya))["refresh"]

        response = await database_sync_to_async(APIClient().post)(
            "/api/v1/auth/logout/", {"refresh": refresh, "everywhere": True}, format="json"
        )

        assert response.status_code == 204
        assert await closed_by_message(socket) == ("logged_out_everywhere", 4401)

    async def test_password_change(self, maya):
        socket = await open_socket(maya)
        client = bearer_client((await tokens(maya))["access"])

        response = await database_sync_to_async(client.post)(
            "/api/v1/auth/password/",
            {"old_password": PASSWORD, "new_password": "another-long-passphrase"},
            format="json",
        )

        assert response.status_code == 200
        assert await closed_by_message(socket) == ("password_changed", 4401)

    async def test_account_deletion(self, maya):
        socket = await open_socket(maya)
        client = bearer_client((await tokens(maya))["access"])

        response = await database_sync_to_async(client.post)(
            "/api/v1/users/me/delete/", {"password": PASSWORD}, format="json"
        )

        assert response.status_code == 202
        assert await closed_by_message(socket) == ("account_deleted", 4403)

    async def test_deactivation_by_staff(self, maya):
        socket = await open_socket(maya)

        await database_sync_to_async(user_deactivate)(user=maya)

        assert await closed_by_message(socket) == ("account_deactivated", 4403)

    async def test_deactivation_in_the_admin(self, maya, make_user):
        socket = await open_socket(maya)

        def untick_active_in_the_admin() -> int:
            staff = make_user(username="root", is_staff=True, is_superuser=True)
            browser = Client()
            browser.force_login(staff)
            response = browser.post(
                f"/admin/accounts/user/{maya.pk}/change/",
                {
                    "username": "maya",
                    "email": "maya@example.com",
                    "display_name": "Maya",
                    "birth_date": "1990-01-01",
                    "date_joined_0": "2026-01-01",
                    "date_joined_1": "00:00:00",
                },  # "is_active" left out: the box is unticked
            )
            return response.status_code

        assert await database_sync_to_async(untick_active_in_the_admin)() == 302
        assert await closed_by_message(socket) == ("account_deactivated", 4403)

    async def test_suspension_hook(self, maya):
        """What a moderation suspension will call, once it exists."""
        socket = await open_socket(maya)

        await database_sync_to_async(user_sockets_close)(user_id=maya.pk, reason=SocketCloseReason.SUSPENDED)

        assert await closed_by_message(socket) == ("suspended", 4403)

    async def test_a_browser_socket_opened_with_the_session_cookie(self, maya):
        browser = APIClient()
        await database_sync_to_async(browser.force_login)(maya)
        cookie = f"sessionid={browser.cookies['sessionid'].value}"
        socket = WebsocketCommunicator(
            application, "/ws/", headers=[(b"cookie", cookie.encode()), (b"origin", b"http://localhost:8000")]
        )
        assert await connect(socket)

        await database_sync_to_async(APIClient().post)(
            "/api/v1/auth/logout/",
            {"refresh": (await tokens(maya))["refresh"], "everywhere": True},
            format="json",
        )

        assert await closed_by_message(socket) == ("logged_out_everywhere", 4401)

    async def test_only_that_users_sockets_close(self, maya, make_user):
        leo = await database_sync_to_async(make_user)(username="leo")
        maya_socket, leo_socket = await open_socket(maya), await open_socket(leo)

        await database_sync_to_async(user_sockets_close)(user_id=maya.pk, reason=SocketCloseReason.SUSPENDED)

        assert await closed_by_message(maya_socket) == ("suspended", 4403)
        await database_sync_to_async(push_to_user)(user_id=leo.pk, event_type="test.event", data={})
        assert (await leo_socket.receive_json_from(timeout=10))["type"] == "test.event"
        await leo_socket.disconnect()


class TestASocketThatMissedTheCloseMessageStillStops:
    """The revocation is written straight to the row, so no `realtime.close` is ever sent."""

    async def test_before_the_next_event_after_a_token_version_bump(self, maya):
        socket = await open_socket(maya)
        await database_sync_to_async(User.objects.filter(pk=maya.pk).update)(
            token_version=F("token_version") + 1
        )

        await database_sync_to_async(push_to_user)(user_id=maya.pk, event_type="secret.event", data={"n": 1})

        assert await close_code(socket) == 4401

    async def test_before_the_next_event_after_a_password_reset_elsewhere(self, maya):
        """E.g. `manage.py changepassword`, which bumps no token version: the session hash still moves."""

        def reset_password() -> None:
            user = User.objects.get(pk=maya.pk)
            user.set_password("reset-by-support-desk")
            user.save(update_fields=["password"])

        socket = await open_socket(maya)
        await database_sync_to_async(reset_password)()

        await database_sync_to_async(push_to_user)(user_id=maya.pk, event_type="secret.event", data={"n": 1})

        assert await close_code(socket) == 4401

    async def test_before_the_next_event_after_deactivation(self, maya):
        socket = await open_socket(maya)
        await database_sync_to_async(User.objects.filter(pk=maya.pk).update)(is_active=False)

        await database_sync_to_async(push_to_user)(user_id=maya.pk, event_type="secret.event", data={"n": 1})

        assert await close_code(socket) == 4403

    async def test_before_the_next_event_after_the_row_is_deleted(self, maya):
        socket = await open_socket(maya)
        await database_sync_to_async(User.objects.filter(pk=maya.pk).delete)()

        await database_sync_to_async(push_to_user)(user_id=maya.pk, event_type="secret.event", data={"n": 1})

        assert await close_code(socket) == 4403

    async def test_an_idle_socket_at_its_periodic_recheck(self, maya, settings):
        settings.WEBSOCKET_CREDENTIAL_RECHECK_SECONDS = 0.2
        socket = await open_socket(maya)

        await database_sync_to_async(User.objects.filter(pk=maya.pk).update)(
            token_version=F("token_version") + 1
        )

        assert await close_code(socket) == 4401

    async def test_a_socket_whose_credentials_hold_keeps_receiving(self, maya, settings):
        settings.WEBSOCKET_CREDENTIAL_RECHECK_SECONDS = 0.2
        socket = await open_socket(maya)
        assert await socket.receive_nothing(timeout=0.6)

        await database_sync_to_async(push_to_user)(user_id=maya.pk, event_type="test.event", data={"n": 1})

        assert (await socket.receive_json_from(timeout=10))["data"] == {"n": 1}
        await socket.disconnect()


async def test_a_revoked_socket_sends_one_close_frame_whatever_else_is_queued(maya):
    socket = await open_socket(maya)
    await database_sync_to_async(User.objects.filter(pk=maya.pk).update)(token_version=F("token_version") + 1)

    for n in range(2):
        await database_sync_to_async(push_to_user)(user_id=maya.pk, event_type="secret.event", data={"n": n})
    await database_sync_to_async(user_sockets_close)(user_id=maya.pk, reason=SocketCloseReason.SUSPENDED)

    assert await close_code(socket) == 4401
    assert await socket.receive_nothing(timeout=1)
