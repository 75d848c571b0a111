"""`POST /api/v1/realtime/ping/`: who may ask, and what a client hears when the broker is down."""

import pytest

from sora_social.celery import app as celery_app

pytestmark = pytest.mark.django_db

URL = "/api/v1/realtime/ping/"


def test_anonymous_cannot_ping(api_client):
    response = api_client.post(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_signed_in_user_gets_a_nonce(client_for, user):
    response = client_for(user).post(URL)
    assert response.status_code == 202
    assert len(response.json()["nonce"]) == 16


def test_the_ping_answers_503_while_the_broker_is_down(client_for, user):
    """Before, the send raised into the request: a 500 without the error shape."""
    real = celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis+socket:///nonexistent-sora-broker/redis.sock"
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        response = client_for(user).post(URL)
    finally:
        celery_app.conf.broker_url = real
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    assert response.status_code == 503
    assert response.json() == {
        "code": "realtime_unavailable",
        "message": "The realtime service is unreachable right now; retry with backoff.",
        "extra": {},
    }
