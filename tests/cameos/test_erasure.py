"""Deleting a cameo or an account leaves no biometric artefact in the database or in storage."""

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from cameos.models import Cameo, CameoUpload, ErasureRecord, FaceEmbedding, LivenessChallenge
from tests.cameos.test_upload_apis import storage_files
from tests.cameos.test_verification import upload
from tests.factories import PASSWORD
from tests.fixtures import recordings

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def biometric_rows(user_id: int, vectors: list[bytes]) -> list[str]:
    """Every table and column, scanned for this user's embeddings and for cameo rows of theirs."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            description = connection.introspection.get_table_description(cursor, table)
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for column, value in zip(description, row, strict=True):
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes) and any(
                        vector and vector[:64] in value for vector in vectors
                    ):
                        found.append(f"{table}.{column.name}")
    return found


@pytest.fixture
def verified(client_for, user, recording, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("cameos.services.push_to_user", lambda **kwargs: None)
    cameo = upload(client_for, user, recording(recordings.GOOD), "4729", django_capture_on_commit_callbacks)
    cameo.refresh_from_db()
    assert cameo.status == "verified"
    return cameo


def test_deleting_a_cameo_erases_its_data_and_keeps_a_record(
    client_for, user, verified, django_capture_on_commit_callbacks
):
    vectors = [bytes(verified.voice_embedding), bytes(FaceEmbedding.objects.get(cameo=verified).vector)]
    files = [verified.recording.name, verified.reference_image.name]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).delete(f"/api/v1/cameos/{verified.pk}/")

    assert response.status_code == 202
    assert not Cameo.objects.filter(pk=verified.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert biometric_rows(user.pk, vectors) == []
    record = ErasureRecord.objects.get(cameo_id=verified.pk)
    assert record.completed_at is not None and record.files_deleted == 2


def test_deleting_the_account_leaves_no_biometric_artefact(
    client_for, user, verified, django_capture_on_commit_callbacks, settings
):
    vectors = [bytes(verified.voice_embedding), bytes(FaceEmbedding.objects.get(cameo=verified).vector)]
    client = client_for(user)
    client.post(
        "/api/v1/cameos/uploads/",
        {
            "challenge_id": LivenessChallenge.objects.create(
                user=user, digits="1234", expires_at="2999-01-01T00:00:00Z"
            ).pk,
            "size": 1000,
        },
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/users/me/delete/", {"password": PASSWORD})

    assert response.status_code == 202
    user.refresh_from_db()
    assert not user.is_active
    assert client.get("/api/v1/users/me/").status_code == 401
    assert [name for name in storage_files() if f"cameos/{user.pk}/" in name] == []
    assert not list(settings.CAMEO_UPLOAD_SPOOL_DIR.glob("*"))
    assert not Cameo.objects.filter(owner=user).exists()
    assert not CameoUpload.objects.filter(owner=user).exists()
    assert not LivenessChallenge.objects.filter(user=user).exists()
    assert biometric_rows(user.pk, vectors) == []
    assert user.email == f"deleted-{user.pk}@invalid"
    assert ErasureRecord.objects.filter(owner_id=user.pk, completed_at__isnull=False).count() == 1


def test_account_deletion_needs_the_password(client_for, user):
    response = client_for(user).post("/api/v1/users/me/delete/", {"password": "wrong"})

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.is_active
