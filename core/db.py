"""A cursor whose statements PostgreSQL prepares: planned once per connection, not at every execution.

Why: the feed's hot queries are fixed SQL built once per process (`feed.visible_ids`) over a list of ids,
and planning the visibility rule (a dozen subqueries) took PostgreSQL about twice as long as running it
(1.5 ms against 0.8 ms for a page's 42 ids, on a warm connection: bench/RESULTS.md). Django's cursors
bind parameters on the client and never prepare (its ORM does not build preparable SQL in general:
Django ticket #20516); psycopg's server-binding cursor does, once a statement has run `prepare_threshold`
times on the connection (`DATABASES["default"]["OPTIONS"]`, set in sora_social/settings/database.py).
Only SQL written for it runs here: parameters are bound by the server (so `= ANY(%s)` with a list, never
`IN %s`). Anything but PostgreSQL gets Django's plain cursor. Wrapped as Django wraps its own cursors, so
query counts, `assert_num_queries` and the debug log see these queries like any other."""

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import QuerySet


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = psycopg.Cursor(connection.connection)  # binds on the server, so it may prepare
    wrapped = (
        _PreparedDebugWrapper(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    )
    with wrapped as cursor:
        yield cursor


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Logs a prepared statement's SQL as it was written (placeholders and all): psycopg keeps no text of
    a statement it ran by name, which Django's log would otherwise read (and record None)."""

    @contextmanager
    def debug_sql(
        self, sql: Any = None, params: Any = None, use_last_executed_query: bool = False, many: bool = False
    ) -> Iterator[None]:
        with super().debug_sql(sql, params, use_last_executed_query=False, many=many):
            yield


def ids_condition(column: str) -> str:
    """SQL true where `column` is one of a list of ids given as one parameter (`ids_parameter`): one
    statement whatever the list's length, so that it is built, and prepared, once."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)"
    return f"{column} IN (SELECT value FROM json_each(%s))"  # SQLite


def ids_parameter(ids: Sequence[int]) -> Any:
    return list(ids) if connection.vendor == "postgresql" else json.dumps(list(ids))


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    # Per column read: Django's converters (a JSON field's decoding, SQLite's booleans and times) and the
    # expression they are given, as the ORM applies them to the rows it reads.
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


class RowsOfIds:
    """The rows of a values-list queryset whose ids are in a list given at each call, its SQL built once
    per database (not at every call: building a queryset's SQL cost more Python than PostgreSQL then took
    to answer it for a page of 20 ids, bench/RESULTS.md) and run on `prepared_cursor`. `queryset()` builds
    it for every row; the ids select rows by its column `id_column` (an alias of its `values_list`).
    Values come back as the ORM gives them (converted by the fields)."""

    def __init__(self, queryset: Callable[[], QuerySet[Any]], *, id_column: str, order_by: str = "") -> None:
        self._queryset = queryset
        self._id_column = id_column
        self._order_by = order_by
        self._statements: dict[str, _Statement] = {}

    def _compile(self) -> _Statement:
        compiler = self._queryset().query.get_compiler(connection.alias)
        sql, params = compiler.as_sql()
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        where = ids_condition(f'rows_of_ids."{self._id_column}"')
        order = f" ORDER BY rows_of_ids.{self._order_by}" if self._order_by else ""
        return _Statement(
            sql=f"SELECT * FROM ({sql}) rows_of_ids WHERE {where}{order}",
            params=tuple(params),
            converters=tuple(
                (position, tuple(convs), expression) for position, (convs, expression) in converters.items()
            ),
        )

    def rows(self, ids: Sequence[int]) -> list[tuple[Any, ...]]:
        if not ids:
            return []
        statement = self._statements.get(connection.alias)
        if statement is None:
            statement = self._statements[connection.alias] = self._compile()
        with prepared_cursor() as cursor:
            cursor.execute(statement.sql, [*statement.params, ids_parameter(ids)])
            rows = cursor.fetchall()
        if not statement.converters:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for position, convs, expression in statement.converters:
                for convert in convs:
                    values[position] = convert(values[position], expression, connection)
            converted.append(tuple(values))
        return converted
