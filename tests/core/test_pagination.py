"""`page_size` is ASCII digits from 1 to the maximum; anything else is a 400 naming the value, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw",
    [
        "²",  # isdigit() is true, int() refuses it: a 500 before the fix
        "٣",  # Arabic-Indic three: int() reads 3, which a client never meant to send
        "1" * 40,  # huge
        "-1",
        " 2",
        "0",
        "101",
        "",
    ],
)
def test_a_page_size_that_is_not_ascii_digits_in_range_is_400(client_for, user, raw):
    response = client_for(user).get("/api/v1/users/me/blocks/", {"page_size": raw})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "page_size" in body["extra"]["fields"]


def test_an_ascii_page_size_in_range_is_used(client_for, user):
    response = client_for(user).get("/api/v1/users/me/blocks/", {"page_size": "7"})

    assert response.status_code == 200
