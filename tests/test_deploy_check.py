"""Production settings pass Django's deployment checklist with no warning, and refuse a weak secret."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-that-is-long-and-random-9f8e7d6c5b4a",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://sora:secret@db:5432/sora",
    "REDIS_URL": "redis://redis:6379/0",
    "S3_BUCKET": "sora-media",
    "S3_ENDPOINT_URL": "http://minio:9000",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**base, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def signing_files(folder: Path) -> dict[str, str]:
    (folder / "chain.pem").write_text("certificates")
    (folder / "key.pem").write_text("key")
    return {
        "C2PA_CERT_CHAIN_PATH": str(folder / "chain.pem"),
        "C2PA_PRIVATE_KEY_PATH": str(folder / "key.pem"),
    }


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, **signing_files(tmp_path)}
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_development_secret():
    env = {**PRODUCTION_ENV}
    env.pop("DJANGO_SECRET_KEY")

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_without_its_own_signing_certificate_is_warned():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode != 0
    assert "generation.W001" in result.stderr + result.stdout


def test_missing_signing_files_are_an_error(tmp_path):
    env = {
        **PRODUCTION_ENV,
        "C2PA_CERT_CHAIN_PATH": str(tmp_path / "nope.pem"),
        "C2PA_PRIVATE_KEY_PATH": str(tmp_path / "k"),
    }
    result = manage("check", "--deploy", env=env)

    assert result.returncode != 0
    assert "generation.E001" in result.stderr + result.stdout
