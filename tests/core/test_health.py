import pytest

from core import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_dependencies(client, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "database", _fail)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_broker_and_storage(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_readyz_is_503_when_the_broker_is_unreachable(client, settings, tmp_path):
    from sora_social.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = f"redis+socket://{tmp_path}/no-such.sock"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unavailable"


def test_readyz_is_503_when_media_storage_is_missing(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "gone"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "unavailable"


def _fail():
    raise RuntimeError("down")


def test_metrics_are_served_in_development(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = True, ""

    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"django_http_requests" in response.content


def test_metrics_are_not_public_in_production(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = False, ""

    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("debug", [True, False])
def test_with_a_token_metrics_need_it(client, settings, debug):
    settings.DEBUG, settings.METRICS_TOKEN = debug, "scrape-secret"

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
