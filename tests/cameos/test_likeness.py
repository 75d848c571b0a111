"""Likeness search through the in-process index, on the test database as configured (SQLite locally,
PostgreSQL 15 without pgvector in CI: migration 0002 must have done nothing there).

`LikenessBehaviour` holds what every backend must do; `tests/cameos/test_likeness_pgvector.py` runs the same
class against PostgreSQL with pgvector. Faces are synthetic but shaped like dlib's: one centre per person,
photos of the same person about 0.35 apart, different people about 0.8 apart (L2).
"""

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from accounts.models import User
from cameos import likeness
from cameos.likeness import ProtectedMatch
from cameos.likeness.inprocess import InProcessIndex
from cameos.models import Cameo, FaceEmbedding, ProtectedLikeness

DIMENSIONS = 128
PERSON_SPREAD = 0.045  # per-coordinate sd of identity centres: different people ~0.8 apart
PHOTO_SPREAD = 0.022  # per-coordinate sd of one photo around its centre: same person ~0.35 apart
SAME_PERSON = 0.5  # the impersonation threshold the verification service uses by default


class Faces:
    """Seeded dlib-like face vectors."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.mean = self.rng.normal(0.0, 0.05, DIMENSIONS)  # dlib vectors share an offset

    def person(self) -> np.ndarray:
        return self.mean + self.rng.normal(0.0, PERSON_SPREAD, DIMENSIONS)

    def photo(self, person: np.ndarray) -> np.ndarray:
        return (person + self.rng.normal(0.0, PHOTO_SPREAD, DIMENSIONS)).astype(np.float32)


def add_user(using: str) -> User:
    number = User.objects.using(using).count() + 1
    while User.objects.using(using).filter(username=f"face{number}").exists():
        number += 1
    return User.objects.using(using).create(
        username=f"face{number}", email=f"face{number}@example.com", birth_date=date(1990, 1, 1)
    )


def add_cameo(
    vector: np.ndarray | None,
    *,
    using: str,
    owner: User | None = None,
    status: str = "verified",
    kind: str = "person",
    embedding_id: int | None = None,
) -> Cameo:
    """A cameo as the verification service leaves it: the row, and its FaceEmbedding when `vector` is given
    (written straight to the table, as another process would)."""
    cameo = Cameo.objects.using(using).create(
        owner=owner or add_user(using), kind=kind, status=status, handle="" if kind == "person" else "pet"
    )
    if vector is not None:
        FaceEmbedding.objects.using(using).create(
            id=embedding_id,
            cameo=cameo,
            vector=likeness.vector_to_bytes(vector),
            dimensions=DIMENSIONS,
            model_name="dlib_resnet_v1",
        )
    return cameo


def exact_nearest(vectors: dict[int, np.ndarray], query: np.ndarray, k: int) -> list[int]:
    ids = list(vectors)
    distances = np.linalg.norm(np.stack([vectors[i] for i in ids]) - query, axis=1)
    return [ids[i] for i in np.argsort(distances, kind="stable")[:k]]


@pytest.fixture(autouse=True)
def _fresh_indexes():
    """Each test builds its indexes anew: a rolled-back test lets the database reuse ids."""
    likeness.reset_indexes()
    yield
    likeness.reset_indexes()


class LikenessBehaviour:
    """What every backend must do; subclasses provide the `db_alias` fixture."""

    def test_a_lookalike_of_another_users_verified_cameo_is_an_impersonation_match(self, db_alias):
        # given: maya's verified cameo, and two other people's
        faces = Faces(seed=1)
        maya = faces.person()
        maya_cameo = add_cameo(faces.photo(maya), using=db_alias)
        for _ in range(2):
            add_cameo(faces.photo(faces.person()), using=db_alias)
        intruder = add_user(db_alias)

        # when: someone else uploads another photo of maya
        matches = likeness.find_impersonation_matches(
            vector=faces.photo(maya), owner_id=intruder.pk, max_distance=SAME_PERSON, using=db_alias
        )

        # then: only maya's cameo, at a same-person distance
        assert [(m.cameo_id, m.owner_id) for m in matches] == [(maya_cameo.pk, maya_cameo.owner_id)]
        assert 0.2 < matches[0].distance < SAME_PERSON

    def test_a_stranger_is_no_match(self, db_alias):
        faces = Faces(seed=2)
        for _ in range(5):
            add_cameo(faces.photo(faces.person()), using=db_alias)

        matches = likeness.find_impersonation_matches(
            vector=faces.photo(faces.person()),
            owner_id=add_user(db_alias).pk,
            max_distance=SAME_PERSON,
            using=db_alias,
        )

        assert matches == []

    def test_the_owners_own_cameo_is_never_a_match(self, db_alias):
        # given: maya re-records; her previous verified cameo is in the index
        faces = Faces(seed=3)
        maya = faces.person()
        old = add_cameo(faces.photo(maya), using=db_alias)

        matches = likeness.find_impersonation_matches(
            vector=faces.photo(maya), owner_id=old.owner_id, max_distance=SAME_PERSON, using=db_alias
        )

        assert matches == []

    @pytest.mark.parametrize("status", ["needs_review", "processing", "rejected"])
    def test_only_verified_cameos_are_searched(self, db_alias, status):
        faces = Faces(seed=4)
        maya = faces.person()
        add_cameo(faces.photo(maya), using=db_alias, status=status)

        matches = likeness.find_impersonation_matches(
            vector=faces.photo(maya), owner_id=add_user(db_alias).pk, max_distance=SAME_PERSON, using=db_alias
        )

        assert matches == []

    def test_a_verified_match_behind_many_unverified_lookalikes_is_still_found(self, db_alias):
        # given: twelve cameos held for review closer to the query than maya's verified one
        faces = Faces(seed=14)
        maya = faces.person()
        query = faces.photo(maya)
        for _ in range(12):
            add_cameo(query + faces.rng.normal(0.0, 0.001, DIMENSIONS), using=db_alias, status="needs_review")
        verified = add_cameo(faces.photo(maya), using=db_alias)

        # when
        found = likeness.get_index(using=db_alias).nearest(query, 1)

        # then
        assert [n.cameo_id for n in found] == [verified.pk]

    def test_a_cameo_verified_after_review_becomes_searchable(self, db_alias):
        # given: a cameo held for review, already searched once
        faces = Faces(seed=5)
        maya = faces.person()
        cameo = add_cameo(faces.photo(maya), using=db_alias, status="needs_review")
        searcher = add_user(db_alias).pk
        assert (
            likeness.get_index(using=db_alias).nearest(faces.photo(maya), 3, exclude_owner_id=searcher) == []
        )

        # when: a moderator verifies it
        Cameo.objects.using(db_alias).filter(pk=cameo.pk).update(status="verified")

        # then: the very next search finds it
        [match] = likeness.get_index(using=db_alias).nearest(faces.photo(maya), 3, exclude_owner_id=searcher)
        assert match.cameo_id == cameo.pk

    def test_rows_written_by_another_process_are_found_without_index_cameo(self, db_alias):
        # given: the index of this process is built
        faces = Faces(seed=6)
        add_cameo(faces.photo(faces.person()), using=db_alias)
        index = likeness.get_index(using=db_alias)
        index.refresh()

        # when: another process verifies maya's cameo (its row appears; this process is not told)
        maya = faces.person()
        cameo = add_cameo(faces.photo(maya), using=db_alias)

        # then
        [match] = index.nearest(faces.photo(maya), 1, exclude_owner_id=None)
        assert match.cameo_id == cameo.pk

    def test_an_erased_cameo_is_never_returned(self, db_alias):
        # given: maya's cameo is indexed in this process
        faces = Faces(seed=7)
        maya = faces.person()
        cameo = add_cameo(faces.photo(maya), using=db_alias)
        other = add_cameo(faces.photo(faces.person()), using=db_alias)
        index = likeness.get_index(using=db_alias)
        assert index.nearest(faces.photo(maya), 1)[0].cameo_id == cameo.pk

        # when: another process erases it (this process is not told)
        Cameo.objects.using(db_alias).filter(pk=cameo.pk).delete()

        # then: the nearest is now the other cameo
        assert [n.cameo_id for n in index.nearest(faces.photo(maya), 5)] == [other.pk]

    def test_index_and_unindex_cameo(self, db_alias):
        faces = Faces(seed=8)
        maya = faces.person()
        cameo = add_cameo(faces.photo(maya), using=db_alias)

        likeness.index_cameo(cameo)
        assert [n.cameo_id for n in likeness.get_index(using=db_alias).nearest(faces.photo(maya), 1)] == [
            cameo.pk
        ]

        likeness.unindex_cameo(cameo.pk, using=db_alias)
        Cameo.objects.using(db_alias).filter(pk=cameo.pk).delete()
        assert likeness.get_index(using=db_alias).nearest(faces.photo(maya), 1) == []

    def test_index_cameo_without_an_embedding_names_the_cameo(self, db_alias):
        cameo = add_cameo(None, using=db_alias)

        with pytest.raises(ValueError, match=f"Cameo {cameo.pk} has no face embedding"):
            likeness.index_cameo(cameo)

    def test_nearest_matches_exact_search(self, db_alias):
        # given: 300 people's verified cameos
        faces = Faces(seed=9)
        people = [faces.person() for _ in range(300)]
        for person in people:
            add_cameo(faces.photo(person), using=db_alias)
        vectors = {
            cameo_id: likeness.vector_from_bytes(raw)
            for cameo_id, raw in FaceEmbedding.objects.using(db_alias).values_list("cameo_id", "vector")
        }
        index = likeness.get_index(using=db_alias)

        # when / then: the top 5 are the exact top 5, with their exact distances
        for person in people[:40]:
            query = faces.photo(person)
            found = index.nearest(query, 5)
            assert [n.cameo_id for n in found] == exact_nearest(vectors, query, 5)
            for neighbour in found:
                expected = float(np.linalg.norm(vectors[neighbour.cameo_id] - query))
                assert neighbour.distance == pytest.approx(expected, abs=1e-5)

    def test_a_vector_of_the_wrong_shape_is_refused_by_name(self, db_alias):
        with pytest.raises(ValueError, match=r"shape \(128,\), got \(512,\)"):
            likeness.find_impersonation_matches(
                vector=np.zeros(512, dtype=np.float32), owner_id=1, max_distance=0.5, using=db_alias
            )
        with pytest.raises(ValueError, match="1 NaN/inf"):
            likeness.get_index(using=db_alias).nearest(np.r_[np.zeros(127), np.nan], 1)

    def test_protected_likeness_matches_are_exact_and_closest_first(self, db_alias):
        # given: a gallery of three public figures (and an entry of another model, never compared)
        faces = Faces(seed=10)
        figures = {name: faces.person() for name in ("Ada", "Grace", "Linus")}
        rows = {
            name: ProtectedLikeness.objects.using(db_alias).create(
                name=name,
                vector=likeness.vector_to_bytes(faces.photo(person)),
                dimensions=128,
                model_name="dlib",
            )
            for name, person in figures.items()
        }
        ProtectedLikeness.objects.using(db_alias).create(
            name="Other model", vector=np.zeros(512, "<f4").tobytes(), dimensions=512, model_name="arcface"
        )

        # when: an upload of Grace
        query = faces.photo(figures["Grace"])
        matches = likeness.find_protected_matches(vector=query, max_distance=0.55, using=db_alias)

        # then
        expected = float(np.linalg.norm(likeness.vector_from_bytes(rows["Grace"].vector) - query))
        assert matches == [ProtectedMatch(rows["Grace"].pk, "Grace", pytest.approx(expected, abs=1e-6))]
        likeness_id, name, _ = matches[0]
        assert (likeness_id, name) == (rows["Grace"].pk, "Grace")
        assert (
            likeness.find_protected_matches(
                vector=faces.photo(faces.person()), max_distance=0.55, using=db_alias
            )
            == []
        )


@pytest.mark.django_db
class TestInProcessBackend(LikenessBehaviour):
    @pytest.fixture
    def db_alias(self) -> str:
        return "default"

    def test_the_database_without_pgvector_gets_the_in_process_index(self, db_alias):
        # migration 0002 did nothing here: no embedding column
        with connections[db_alias].cursor() as cursor:
            columns = [
                c.name
                for c in connections[db_alias].introspection.get_table_description(
                    cursor, "cameos_faceembedding"
                )
            ]
        assert "embedding" not in columns
        assert isinstance(likeness.get_index(using=db_alias), InProcessIndex)

    def test_asking_for_pgvector_where_there_is_none_is_a_configuration_error(self, db_alias, settings):
        settings.CAMEO_LIKENESS_BACKEND = "pgvector"
        with pytest.raises(ImproperlyConfigured, match="no pgvector column"):
            likeness.get_index(using=db_alias)

    def test_an_unknown_backend_is_a_configuration_error(self, db_alias, settings):
        settings.CAMEO_LIKENESS_BACKEND = "hnsw"
        with pytest.raises(ImproperlyConfigured, match="'hnsw'"):
            likeness.get_index(using=db_alias)

    def test_a_row_committed_late_below_the_high_water_mark_is_found(self, db_alias):
        # given: the index has seen embedding rows up to id 50 + 10; id 50 + 5 is still being committed
        faces = Faces(seed=11)
        add_cameo(faces.photo(faces.person()), using=db_alias, embedding_id=50 + 10)
        index = likeness.get_index(using=db_alias)
        index.refresh()

        # when: a slower transaction commits a lower id
        maya = faces.person()
        late = add_cameo(faces.photo(maya), using=db_alias, embedding_id=50 + 5)

        # then
        assert [n.cameo_id for n in index.nearest(faces.photo(maya), 1)] == [late.pk]

    def test_the_sweep_drops_deleted_rows_and_adds_missed_ones(self, db_alias):
        # given: an index that sweeps on every refresh, built over two cameos
        faces = Faces(seed=12)
        gone = add_cameo(faces.photo(faces.person()), using=db_alias, embedding_id=200)
        add_cameo(faces.photo(faces.person()), using=db_alias, embedding_id=201)
        index = InProcessIndex(using=db_alias, sweep_seconds=0.0, gap_ttl_seconds=0.0)
        index.refresh()
        assert len(index) == 2

        # when: one row is deleted and one appears far below the high-water mark, past its gap's lifetime
        Cameo.objects.using(db_alias).filter(pk=gone.pk).delete()
        maya = faces.person()
        missed = add_cameo(faces.photo(maya), using=db_alias, embedding_id=1)
        index.refresh()

        # then
        assert len(index) == 2
        assert [n.cameo_id for n in index.nearest(faces.photo(maya), 1)] == [missed.pk]

    def test_the_quantised_scan_used_at_scale_finds_a_returning_person(self, db_alias):
        # given: an index that scans PQ codes at any size (by default, small ones scan the vectors) and
        # re-ranks few of them, so the codes have to do the work
        faces = Faces(seed=15)
        people = [faces.person() for _ in range(100)]
        cameos = [add_cameo(faces.photo(person), using=db_alias) for person in people]
        index = InProcessIndex(using=db_alias, exact_below=0, rerank=16)
        index.refresh()
        assert index.quantised

        # when / then
        for person, cameo in zip(people[:10], cameos[:10], strict=True):
            assert index.nearest(faces.photo(person), 1)[0].cameo_id == cameo.pk

    def test_removals_leave_dead_slots_until_a_compaction_retrains_on_what_is_left(self, db_alias):
        # given: a quantised index of 100 cameos
        faces = Faces(seed=17)
        people = [faces.person() for _ in range(100)]
        cameos = [add_cameo(faces.photo(person), using=db_alias) for person in people]
        index = InProcessIndex(using=db_alias, exact_below=0, rerank=16, compact_fraction=0.2)
        index.refresh()

        # when: 15 are removed (not yet a fifth of the slots), then 5 more, and a search follows each
        for cameo in cameos[:15]:
            index.remove(cameo.pk)
        assert (len(index), index._used) == (85, 100)
        assert index.nearest(faces.photo(people[20]), 1)[0].cameo_id == cameos[20].pk
        for cameo in cameos[15:20]:
            index.remove(cameo.pk)

        # then: the dead slots are gone, codes and slots agree, and nothing removed is ever returned
        assert (len(index), index._used, index._codes.ntotal) == (80, 80, 80)
        for person, cameo in zip(people[20:30], cameos[20:30], strict=True):
            assert index.nearest(faces.photo(person), 1)[0].cameo_id == cameo.pk
        removed = {cameo.pk for cameo in cameos[:20]}
        for person in people[:20]:
            assert not removed & {n.cameo_id for n in index.nearest(faces.photo(person), 10)}

    def test_the_quantiser_comes_and_goes_with_the_size(self, db_alias):
        faces = Faces(seed=18)
        cameos = [add_cameo(faces.photo(faces.person()), using=db_alias) for _ in range(80)]
        index = InProcessIndex(using=db_alias, exact_below=70, compact_fraction=0.5)
        index.refresh()
        assert index.quantised
        for cameo in cameos[:20]:
            index.remove(cameo.pk)
        assert not index.quantised and len(index) == 60

    def test_rows_are_read_a_page_at_a_time_and_distances_are_exact(self, db_alias, monkeypatch):
        # given: pages of 7 rows (keyset pagination by id), and a quantised index
        monkeypatch.setattr("cameos.likeness.inprocess._BATCH", 7)
        faces = Faces(seed=16)
        people = [faces.person() for _ in range(70)]
        cameo_ids = [add_cameo(faces.photo(person), using=db_alias).pk for person in people]
        index = InProcessIndex(using=db_alias, exact_below=0, rerank=16)

        # when: the cold start reads every page, then a search of the codes
        index.refresh()
        assert index.quantised
        query = faces.photo(people[4])
        [found] = index.nearest(query, 1)

        # then: all rows are in, and the distance is recomputed from the stored float32 vector
        assert len(index) == len(cameo_ids)
        stored = FaceEmbedding.objects.using(db_alias).get(cameo_id=found.cameo_id).vector
        assert found.distance == pytest.approx(
            float(np.linalg.norm(likeness.vector_from_bytes(stored) - query)), abs=1e-6
        )
        assert found.cameo_id == cameo_ids[4]

    def test_a_stale_entry_met_during_a_search_leaves_the_index(self, db_alias):
        faces = Faces(seed=13)
        maya = faces.person()
        cameo = add_cameo(faces.photo(maya), using=db_alias)
        index = likeness.get_index(using=db_alias)
        index.refresh()
        Cameo.objects.using(db_alias).filter(pk=cameo.pk).delete()

        assert index.nearest(faces.photo(maya), 1) == []
        assert len(index) == 0

    def test_importing_the_package_loads_neither_numpy_nor_faiss(self):
        code = (
            "import django, sys; django.setup(); import cameos.likeness; "
            "loaded = sorted({'numpy', 'faiss'} & set(sys.modules)); assert not loaded, loaded"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={"DJANGO_SETTINGS_MODULE": "sora_social.settings", "PATH": "/usr/bin:/bin"},
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
