"""The render message when the broker (Redis) is down: the job is accepted and recorded as unsent (never a
500, never lost); a retried request with the same Idempotency-Key, or the sweep, sends it once the broker is
back. Before, the enqueue after commit raised into the request (500) and a retry found the job but never sent
it: the row stayed `queued` until a 2-hour timeout."""

import pytest
from django.conf import settings

from generation.models import Generation
from sora_social.celery import app as celery_app
from tests.factories import CameoFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/generations/"
UNREACHABLE_BROKER = "redis+socket:///nonexistent-sora-broker/redis.sock"


@pytest.fixture
def broker():
    """Point this process's Celery at a given broker URL (and back), sending for real (not eagerly)."""
    real = celery_app.conf.broker_url

    def use(url: str) -> None:
        celery_app.conf.broker_url = url
        celery_app._pool = None  # the connection pools were built for the previous URL
        celery_app.amqp._producer_pool = None

    celery_app.conf.task_always_eager = False
    yield use
    use(real)


def gpu_queue_length() -> int:
    with celery_app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue="gpu", passive=True).message_count


def purge_gpu_queue() -> None:
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_declare(queue="gpu", durable=True, auto_delete=False)
        connection.default_channel.queue_purge("gpu")


@pytest.fixture
def leo_client(make_user, client_for):
    maya = make_user(username="maya")
    CameoFactory(owner=maya, permission="everyone")
    return client_for(make_user(username="leo"))


def create(client, key: str):
    return client.post(URL, {"prompt": "@maya waves"}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_job_created_while_the_broker_is_down_is_accepted_and_sent_on_the_retry(
    leo_client, broker, django_capture_on_commit_callbacks
):
    broker(UNREACHABLE_BROKER)
    with django_capture_on_commit_callbacks(execute=True):
        first = create(leo_client, "k-1")
    assert first.status_code == 201, first.json()
    job = Generation.objects.get(pk=first.json()["id"])
    assert (job.status, job.dispatched_at) == ("queued", None)  # recorded as not sent

    broker(_session_broker())
    purge_gpu_queue()
    with django_capture_on_commit_callbacks(execute=True):
        again = create(leo_client, "k-1")
    assert again.status_code == 200 and again.json()["id"] == job.pk
    job.refresh_from_db()
    assert job.dispatched_at is not None
    assert gpu_queue_length() == 1

    with django_capture_on_commit_callbacks(execute=True):
        create(leo_client, "k-1")
    assert gpu_queue_length() == 1  # sent already: a further retry sends nothing
    purge_gpu_queue()


def test_a_job_created_while_the_broker_is_up_is_marked_sent(
    leo_client, broker, django_capture_on_commit_callbacks
):
    broker(_session_broker())
    purge_gpu_queue()
    with django_capture_on_commit_callbacks(execute=True):
        response = create(leo_client, "k-2")
    assert response.status_code == 201
    assert Generation.objects.get(pk=response.json()["id"]).dispatched_at is not None
    assert gpu_queue_length() == 1
    purge_gpu_queue()


def _session_broker() -> str:
    return settings.CELERY_BROKER_URL
