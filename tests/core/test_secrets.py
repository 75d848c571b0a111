"""Each install has its own secret, and each use its own key derived from it: nothing in the repository
lets anyone sign a token this install accepts."""

import os
import subprocess
import sys
import time
import uuid

import jwt
import pytest
from django.conf import settings

from core.keys import data_folder_secret_key, derive_key

pytestmark = pytest.mark.django_db

# The development default that this repository published (and `scripts/run` used) before installs made
# their own secret.
REPOSITORY_KEY = "dev-insecure-key-change-me-in-production-0123456789"


def forged_access_token(user, key: str) -> str:
    now = int(time.time())
    claims = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": str(user.pk),
        "tv": user.token_version,
    }
    return jwt.encode(claims, key, algorithm="HS256")


def test_a_jwt_forged_with_the_repositorys_old_key_is_refused(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged_access_token(user, REPOSITORY_KEY)}")

    response = api_client.get("/api/v1/users/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_jwt_signed_with_the_install_secret_itself_is_refused(api_client, user):
    """JWTs sign with a key derived for them alone, not with SECRET_KEY."""
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged_access_token(user, settings.SECRET_KEY)}")

    assert api_client.get("/api/v1/users/me/").status_code == 401


def test_a_jwt_signed_with_the_derived_key_is_accepted(api_client, user):
    """The check above is not vacuous: the same claims signed with the JWT key are a valid token."""
    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged_access_token(user, key)}")

    assert api_client.get("/api/v1/users/me/").status_code == 200


def test_keys_per_purpose_differ_and_are_stable():
    assert derive_key("s" * 64, "jwt") == derive_key("s" * 64, "jwt")
    assert derive_key("s" * 64, "jwt") != derive_key("s" * 64, "media-token")
    assert derive_key("s" * 64, "jwt") != derive_key("t" * 64, "jwt")


def settings_secret(data_dir, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "DJANGO_DEBUG"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)",
        ],
        env={
            **env,
            "SORA_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "sora_social.settings",
            **extra,
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_two_data_folders_get_different_keys_kept_private_and_stable(tmp_path):
    first = settings_secret(tmp_path / "a")
    second = settings_secret(tmp_path / "b")
    first_again = settings_secret(tmp_path / "a")

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    key_a, key_b = first.stdout.strip(), second.stdout.strip()
    assert len(key_a) >= 50 and len(key_b) >= 50
    assert key_a != key_b
    assert REPOSITORY_KEY not in (key_a, key_b)
    assert first_again.stdout.strip() == key_a
    key_file = tmp_path / "a" / "secret_key"
    assert key_file.read_text().strip() == key_a
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_production_makes_no_key_of_its_own(tmp_path):
    result = settings_secret(tmp_path / "prod", DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert not (tmp_path / "prod" / "secret_key").exists()


def test_processes_racing_on_first_run_agree_on_one_key(tmp_path):
    folder = tmp_path / "race"
    code = (
        "import sys; from pathlib import Path; from core.keys import data_folder_secret_key; "
        "print(data_folder_secret_key(Path(sys.argv[1])))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder)],
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}

    assert keys == {data_folder_secret_key(folder)}
    assert sorted(path.name for path in folder.iterdir()) == ["secret_key"]
