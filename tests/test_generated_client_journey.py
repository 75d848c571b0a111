"""The schema is a contract a generator can trust: a Python client generated from it at test time by
`openapi-python-client` (pinned in the dev extra; nothing generated is committed) drives the whole journey
against a real uvicorn process and a real worker, with no hand-written request: two people sign up, one
records and verifies a cameo and grants the other access, who generates a video, follows its progress,
plays it (a byte range, as a phone's player asks), publishes it; the owner sees it in their appearances."""

import importlib
import inspect
import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings

from tests.fixtures import recordings
from tests.openapi_validation import openapi_schema
from tests.processes import celery_worker, web_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PACKAGE = "sora_generated_client"


def generate_client(out_dir: Path) -> Path:
    """The schema as the server publishes it, and the package `openapi-python-client` makes of it."""
    schema = out_dir / "openapi.json"
    schema.write_text(json.dumps(openapi_schema(), default=str))
    config = out_dir / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is imported, not read
    subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(schema),
         "--output-path", str(out_dir / PACKAGE), "--meta", "none", "--config", str(config)],
        check=True, cwd=out_dir, capture_output=True, timeout=120,
    )  # fmt: skip
    return out_dir


@pytest.fixture
def client_package(tmp_path_factory):
    """The generated package, imported; its modules are forgotten afterwards."""
    root = generate_client(tmp_path_factory.mktemp("generated"))
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(package: ModuleType, operation: str) -> ModuleType:
    """One generated operation module, e.g. `auth.auth_signup`."""
    return importlib.import_module(f"{package.__name__}.api.{operation}")


def models(package: ModuleType) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.models")


def test_anonymous_operations_take_a_client_without_credentials(client_package):
    for operation in ("auth.auth_signup", "auth.auth_login", "auth.auth_refresh", "auth.auth_csrf",
                      "auth.auth_session_login", "auth.auth_email_verify"):  # fmt: skip
        annotation = str(inspect.signature(api(client_package, operation).sync_detailed).parameters["client"])
        assert annotation.endswith("AuthenticatedClient | " + client_package.Client.__module__ + ".Client"), (
            operation,
            annotation,
        )
    annotation = str(
        inspect.signature(api(client_package, "users.users_me_get").sync_detailed).parameters["client"]
    )
    assert annotation.endswith(".AuthenticatedClient"), annotation


def test_the_journey_through_the_generated_client(client_package, tmp_path):
    m = models(client_package)
    assert tmp_path / "media" == settings.MEDIA_ROOT  # the folder the server and worker use (conftest)

    def call(operation: str, expected: type, **kwargs):
        """One operation through the generated client; the answer must be the type the schema promises."""
        result = api(client_package, operation).sync(**kwargs)
        assert isinstance(result, expected), (operation, result)
        return result

    with celery_worker(data_dir=tmp_path), web_server(data_dir=tmp_path) as base_url:
        anonymous = client_package.Client(base_url=base_url, raise_on_unexpected_status=True, timeout=60)

        def signup(username: str):
            body = m.SignupInputRequest(
                username=username, email=f"{username}@example.com", password="a-long-pass-phrase-2026",
                birth_date=date(1994, 5, 6),
            )  # fmt: skip
            out = call("auth.auth_signup", m.SignupOutput, client=anonymous, body=body)
            return client_package.AuthenticatedClient(
                base_url=base_url, token=out.access, raise_on_unexpected_status=True, timeout=60
            )

        maya, leo = signup("maya"), signup("leo")

        # maya records her cameo reading the challenge's digits; the worker verifies it on the real models
        challenge = call(
            "cameos.cameos_challenge_create", m.ChallengeCreateOutput, client=maya,
            body=m.ChallengeCreateInputRequest(),
        )  # fmt: skip
        spec = replace(recordings.GOOD, name=f"journey_{challenge.digits}", digits=challenge.digits)
        with recordings.build(spec).open("rb") as recording:
            body = m.CameoListCreateInputRequest(
                challenge_id=challenge.id,
                recording=client_package.types.File(
                    payload=recording, file_name="me.mp4", mime_type="video/mp4"
                ),
            )
            cameo = call("cameos.cameos_create", m.CameoOwner, client=maya, body=body)
        deadline = time.monotonic() + 300
        while cameo.status in (m.CameoOwnerStatusEnum.UPLOADED, m.CameoOwnerStatusEnum.PROCESSING):
            assert time.monotonic() < deadline, "verification did not finish in 5 minutes"
            time.sleep(0.5)
            cameo = call("cameos.cameos_get", m.CameoOwner, cameo_id=cameo.id, client=maya)
        assert cameo.status == m.CameoOwnerStatusEnum.VERIFIED, cameo

        # maya shares it with people she approves; leo asks; maya approves
        call(
            "cameos.cameos_update", m.CameoOwner, cameo_id=cameo.id, client=maya,
            body=m.CameoDetailPatchedUpdateInputRequest(permission=m.PermissionEnum.APPROVED),
        )  # fmt: skip
        access = call(
            "cameos.cameos_access_request", m.AccessRequest, cameo_id=cameo.id, client=leo,
            body=m.AccessRequestCreateInputRequest(),
        )  # fmt: skip
        call(
            "cameos.cameos_access_requests_approve_create", m.AccessRequest, request_id=access.id, client=maya
        )

        # leo generates and follows the job until it is done, progress never going back
        generation = call(
            "generations.generations_create", m.Generation, client=leo,
            body=m.GenerationListCreateInputRequest(
                prompt='@maya waves on a beach at sunset, maya says "hello there"\nduration: 2s'
            ),
        )  # fmt: skip
        assert generation.spec.mentions == ["maya"] and generation.spec.duration == 2.0
        progress = [generation.progress]
        deadline = time.monotonic() + 600
        while generation.status in (m.GenerationStatusEnum.QUEUED, m.GenerationStatusEnum.RUNNING):
            assert time.monotonic() < deadline, "the render did not finish in 10 minutes"
            time.sleep(0.5)
            generation = call(
                "generations.generations_get", m.Generation, generation_id=generation.id, client=leo
            )
            progress.append(generation.progress)
        assert generation.status == m.GenerationStatusEnum.SUCCEEDED, generation
        assert progress == sorted(progress) and progress[-1] == 1.0
        assert generation.provenance is not None
        assert {a.label for a in generation.provenance.assertions} >= {
            "c2pa.actions",
            "social.sora.generation",
        }

        # play: the link is absolute and serves the first bytes of an mp4 as a player asks for them
        assert generation.video_url.startswith(base_url + "/media-signed/")
        media = leo.get_httpx_client().get(generation.video_url, headers={"Range": "bytes=0-99"})
        assert media.status_code == 206
        assert media.headers["content-range"].startswith("bytes 0-99/")
        assert len(media.content) == 100 and media.content[4:8] == b"ftyp"

        # publish; maya sees it in her appearances
        published = call(
            "generations.generations_publish", m.Generation, generation_id=generation.id, client=leo
        )
        assert published.published_at is not None
        appearances = call(
            "cameos.cameos_appearances_list", m.PaginatedAppearanceList, cameo_id=cameo.id, client=maya
        )
        assert [(a.id, a.requester) for a in appearances.results] == [(generation.id, "leo")]
