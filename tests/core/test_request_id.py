"""The request id a client sends is echoed only when it is a plain token; anything else gets a fresh one."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_plain_request_id_is_echoed(api_client):
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID="abc-123.4:5_6")

    assert response["X-Request-ID"] == "abc-123.4:5_6"


@pytest.mark.parametrize("given", ["a\nb", "x" * 65, "<script>", "Â²", ""])
def test_any_other_request_id_is_replaced(api_client, given):
    """Before the fix a newline in it was a 500 (the response header refused it)."""
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID=given)

    assert response.status_code == 200
    assert response["X-Request-ID"] != given
    assert len(response["X-Request-ID"]) == 32
