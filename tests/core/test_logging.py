"""JSON log lines keep the stack: a failed request's and a failed task's traceback is text in the line
(it used to print `<traceback object at 0x…>`), and a failed request's line carries its request id."""

import json
import logging
import sys

import pytest
import structlog
from django.conf import settings
from django.test import Client


def json_formatter() -> logging.Formatter:
    config = {key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"}
    return structlog.stdlib.ProcessorFormatter(**config)


def record_with_exception(name: str) -> logging.LogRecord:
    try:
        {}["missing"]
    except KeyError:
        return logging.getLogger(name).makeRecord(
            name, logging.ERROR, __file__, 1, "it failed", (), exc_info=sys.exc_info()
        )
    raise AssertionError("unreachable")


def test_the_json_formatter_renders_a_traceback_as_text():
    line = json.loads(json_formatter().format(record_with_exception("celery.app.trace")))
    assert line["event"] == "it failed" and line["level"] == "error"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in line["exception"]
    assert "record_with_exception" in line["exception"]  # the frame that raised
    assert "exc_info" not in line
    assert "<traceback object" not in json.dumps(line)


@pytest.mark.django_db
def test_a_failed_request_logs_its_traceback_and_request_id_as_json(settings, caplog):
    settings.ROOT_URLCONF = "tests.core.urls_failing"
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/fails/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-42"
    [record] = [r for r in caplog.records if r.name == "django.request"]
    line = json.loads(json_formatter().format(record))
    assert line["request_id"] == "req-42"
    assert "ZeroDivisionError: the view divided by zero" in line["exception"]
    assert "failing_view" in line["exception"]
    assert "request" not in line  # not the request object's repr
