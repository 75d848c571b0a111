import uuid
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import User
from accounts.services import tokens_issue
from cameos import likeness
from core.embedded import EmbeddedRedis, socket_path_from_url
from sora_social.celery import app as celery_app
from tests.factories import UserFactory
from tests.openapi_validation import SchemaValidatingAPIClient


@pytest.fixture(scope="session", autouse=True)
def redis_service() -> Iterator[str]:
    """Redis for broker, channel layer and cache: the real one in CI (REDIS_URL), else an embedded server."""
    socket_path = socket_path_from_url(settings.REDIS_URL)
    server = EmbeddedRedis(socket_path) if socket_path is not None else None
    if server is not None:
        server.start()
    yield settings.REDIS_URL
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory) -> None:
    """SQLite tests use a file, not memory, so that a real worker process started by a test can share
    the test database (PostgreSQL's test database is shared as it is)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _isolated_side_effects(settings, tmp_path, monkeypatch) -> Iterator[None]:
    """Media in a fresh folder, tasks run inline (tests that need a real worker turn this off), a cache
    namespace of their own, and auth throttling out of the way unless a test sets its own rate."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}
    }
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "100000/min", "reports": "100000/min"})
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    # A rolled-back test hands the same ids out again, which a cached in-process index cannot notice.
    likeness.reset_indexes()
    yield
    celery_app.conf.task_always_eager = False
    likeness.reset_indexes()


@pytest.fixture
def api_client() -> SchemaValidatingAPIClient:
    return SchemaValidatingAPIClient()


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    return UserFactory


@pytest.fixture
def user(make_user) -> User:
    return make_user(username="maya")


@pytest.fixture
def other_user(make_user) -> User:
    return make_user(username="leo")


@pytest.fixture
def client_for() -> Callable[[User], SchemaValidatingAPIClient]:
    """An API client authenticated as `user` with a real access token, as a mobile client would be."""

    def build(user: User) -> SchemaValidatingAPIClient:
        client = SchemaValidatingAPIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
        return client

    return build
