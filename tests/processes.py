"""Helpers for tests that start real worker processes beside the test process."""

from django.db import connection


def database_url() -> str:
    """The test database as a DATABASE_URL, so a child process uses the same one as this test."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
