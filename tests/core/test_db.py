"""`core.db`: the statements built once and asked of a list of ids (`RowsOfIds`) give what the ORM gives,
and on PostgreSQL they are prepared (planned once per connection) and still logged like any query."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db import RowsOfIds, prepared_cursor
from feed.models import Post
from generation.models import Generation
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db

COLUMNS = (
    "pk",
    "requester__username",
    "post__hashtags",
    "post__comments_enabled",
    "published_at",
    "remix_of_id",
)


def _posts() -> RowsOfIds:
    return RowsOfIds(lambda: Generation.objects.values_list(*COLUMNS), id_column="pk", order_by="pk")


@pytest.fixture
def posts(make_user):
    maya = make_user(username="maya")
    first = GenerationFactory(requester=maya, published_at=timezone.now(), post__hashtags=["moon", "chess"])
    second = GenerationFactory(
        requester=maya, published_at=timezone.now(), remix_of=first, post__comments_enabled=False
    )
    draft = GenerationFactory(requester=maya)  # no post: its post's columns are null
    return [first, second, draft]


def test_rows_are_those_the_orm_reads_converted_alike(posts):
    ids = [generation.pk for generation in posts]

    rows = _posts().rows(list(reversed(ids)))

    assert rows == list(Generation.objects.filter(pk__in=ids).order_by("pk").values_list(*COLUMNS))
    first = rows[0]
    assert first[2] == ["moon", "chess"] and first[3] is True  # JSON decoded, a boolean (SQLite: 1)
    assert isinstance(first[4], datetime) and first[4].tzinfo is not None
    assert rows[1][3] is False and rows[1][5] == posts[0].pk


def test_only_the_ids_asked_and_none_for_none(posts):
    statement = _posts()
    missing = max(generation.pk for generation in posts) + 1000

    assert [row[0] for row in statement.rows([posts[1].pk, missing])] == [posts[1].pk]
    with CaptureQueriesContext(connection) as queries:
        assert statement.rows([]) == []
    assert queries.captured_queries == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's log shows the values in the SQL")
def test_one_statement_whatever_how_many_ids(posts):
    statement = _posts()
    with CaptureQueriesContext(connection) as queries:
        statement.rows([posts[0].pk])
        statement.rows([generation.pk for generation in posts])

    first, second = (query["sql"] for query in queries.captured_queries)
    assert first == second  # the same SQL text: one plan


def test_the_rows_follow_writes_made_since_the_statement_was_built(posts):
    statement = _posts()
    statement.rows([posts[0].pk])
    Post.objects.filter(generation=posts[0]).update(hashtags=["sun"])

    assert statement.rows([posts[0].pk])[0][2] == ["sun"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_postgresql_prepares_the_statement_once_per_connection(posts):
    statement = _posts()
    statement.rows([posts[0].pk])
    statement.rows([posts[1].pk])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%rows_of_ids%"]
        )
        prepared = cursor.fetchall()
    assert len(prepared) == 1  # prepared at its first run, reused by the second


def test_a_prepared_query_is_logged_with_its_sql():
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute("SELECT %s + 1", [41])
        assert cursor.fetchone()[0] == 42

    # As written on PostgreSQL (psycopg keeps no text of a prepared run), as run elsewhere.
    [logged] = [query["sql"] for query in queries.captured_queries]
    assert logged == ("SELECT %s + 1" if connection.vendor == "postgresql" else "SELECT 41 + 1")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_with_prepared_statements_off_the_same_rows_come_unprepared(posts):
    """DATABASE_PREPARED_STATEMENTS=false (a pooler that cannot keep them) sets `prepare_threshold` to None:
    the statement still runs, bound by the server, and nothing is prepared."""
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None
    try:
        statement = _posts()
        rows = statement.rows([posts[0].pk])
        statement.rows([posts[0].pk])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%rows_of_ids%"]
            )
            prepared = cursor.fetchone()[0]
    finally:
        connection.connection.prepare_threshold = threshold
    assert [row[0] for row in rows] == [posts[0].pk]
    assert prepared == 0


def test_the_database_options_prepare_unless_turned_off(monkeypatch):
    import importlib

    from sora_social.settings import database

    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example:5432/sora")
    assert importlib.reload(database).DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 0
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    assert importlib.reload(database).DATABASES["default"]["OPTIONS"]["prepare_threshold"] is None
    monkeypatch.undo()
    importlib.reload(database)
