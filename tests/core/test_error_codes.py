"""Error codes are data: every code the API can answer with is a member of an app's enum (or one of the
prompt language's codes, or one DRF / simplejwt emits), the union is the `Error.code` enum in the schema,
and no member is dead. Found by reading the source with `ast`, so a new raise site is checked unseen."""

import ast
import inspect
from pathlib import Path

import pytest
import rest_framework.exceptions as drf_exceptions
import rest_framework_simplejwt
from django.conf import settings

from core.errors import CoreError, all_error_codes, error_code_enums, media_error
from core.exceptions import ApplicationError, error_body
from generation.models import GenerationFailureReason
from generation.policy import PolicyRefusal
from ml.media.errors import MediaErrorCode
from ml.prompt import ERROR_CODES as PROMPT_ERROR_CODES
from tests.openapi_validation import openapi_schema

ROOT = Path(settings.BASE_DIR)
APPS = ["core", "accounts", "cameos", "generation", "feed", "moderation", "demo", "sora_social"]
CALLS_WITH_A_CODE = {ApplicationError.__name__, PolicyRefusal.__name__, error_body.__name__}
# DRF's exceptions, raised by our code with `code=` (ValidationError's codes are per field).
CALLS_WITH_A_CODE_KEYWORD = {
    "AuthenticationFailed",
    "NotFound",
    "PermissionDenied",
    "NotAuthenticated",
    "ParseError",
}
POLICY_CODES = {"policy_minors", "policy_sexual_real_person", "policy_blocked_category", "policy_real_person"}
# Raise sites whose code is computed: (file, the argument as written) -> the codes it can take.
DYNAMIC_CODES: dict[tuple[str, str], object] = {
    ("core/exceptions.py", "code"): "framework",  # the handler renders DRF's and simplejwt's exceptions
    ("generation/services.py", "error.code"): PROMPT_ERROR_CODES,  # a PromptError from ml.prompt
    ("generation/services.py", "refusal.code"): POLICY_CODES,  # a PolicyRefusal from generation.policy
}


def _sources() -> list[tuple[str, ast.Module]]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                found.append((path.relative_to(ROOT).as_posix(), ast.parse(path.read_text())))
    return found


def _enum_names() -> dict[str, type]:
    return {enum.__name__: enum for enum in error_code_enums()}


def _raised_codes() -> list[tuple[str, int, set[str]]]:
    """(file, line, the codes that site can raise) for every ApplicationError / PolicyRefusal."""
    enums = _enum_names()
    sites = []
    for name, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if callee in CALLS_WITH_A_CODE_KEYWORD:
                argument = next((k.value for k in node.keywords if k.arg == "code"), None)
                if argument is None:
                    continue  # the exception's default code, in _framework_codes()
            elif callee in CALLS_WITH_A_CODE:
                argument = next(
                    (k.value for k in node.keywords if k.arg == "code"), node.args[0] if node.args else None
                )
            else:
                continue
            assert argument is not None, f"{name}:{node.lineno}: {callee} without a code"
            if isinstance(argument, ast.Constant):
                codes = {argument.value}
            elif (
                isinstance(argument, ast.Attribute)
                and isinstance(argument.value, ast.Name)
                and argument.value.id in enums
            ):
                codes = {enums[argument.value.id][argument.attr].value}
            elif (
                isinstance(argument, ast.Call) and getattr(argument.func, "id", None) == media_error.__name__
            ):
                codes = {media_error(code).value for code in MediaErrorCode}
            else:
                key = (name, ast.unparse(argument))
                assert key in DYNAMIC_CODES, (
                    f"{name}:{node.lineno}: a computed code {key[1]!r}: list what it can be"
                )
                given = DYNAMIC_CODES[key]
                codes = _framework_codes() if given == "framework" else set(given)
            sites.append((name, node.lineno, codes))
    return sites


def _framework_codes() -> set[str]:
    """What core.exceptions' handler can emit for DRF's and simplejwt's own exceptions."""
    drf = {
        cls.default_code
        for _, cls in inspect.getmembers(drf_exceptions, inspect.isclass)
        if issubclass(cls, drf_exceptions.APIException)
        and cls not in (drf_exceptions.APIException, drf_exceptions.ValidationError)
    }
    simplejwt = set()
    for path in Path(rest_framework_simplejwt.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "AuthenticationFailed",
                "InvalidToken",
            ):
                given = [k.value for k in node.keywords if k.arg == "code"] + node.args[1:2]
                simplejwt |= {v.value for v in given if isinstance(v, ast.Constant)}
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "default_code" for t in node.targets
            ):
                simplejwt.add(node.value.value)
    handlers = {
        node.args[0].value
        for node in ast.walk(ast.parse((ROOT / "core/exceptions.py").read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "error_body"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    return drf | simplejwt | handlers | {CoreError.VALIDATION_ERROR}


def test_every_code_raised_anywhere_is_in_the_schema_enum():
    listed = set(openapi_schema()["components"]["schemas"]["Error"]["properties"]["code"]["enum"])
    sites = _raised_codes()

    assert len(sites) > 50  # the scan really finds the raise sites
    missing = [f"{name}:{line}: {sorted(codes - listed)}" for name, line, codes in sites if codes - listed]
    assert missing == []
    assert _framework_codes() - listed == set()
    assert listed == set(all_error_codes())


def test_no_enum_member_is_unused():
    enums = _enum_names()
    used = set().union(*(codes for _, _, codes in _raised_codes())) | _framework_codes()
    for name, tree in _sources():
        if name.endswith("/errors.py"):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in enums
            ):
                used.add(enums[node.value.id][node.attr].value)

    unused = [f"{enum.__name__}.{m.name}" for enum in enums.values() for m in enum if m.value not in used]
    assert unused == []


def test_every_media_reason_has_an_api_code():
    assert {media_error(code) for code in MediaErrorCode} <= set(CoreError)


def test_app_codes_do_not_collide_across_enums():
    seen: dict[str, str] = {}
    for enum in error_code_enums():
        for member in enum:
            assert member.value not in seen, (
                f"{member.value} is in {seen.get(member.value)} and {enum.__name__}"
            )
            seen[member.value] = enum.__name__


@pytest.mark.django_db
def test_a_plain_string_code_still_renders(client_for, user, monkeypatch):
    """Unconverted raise sites keep working: a StrEnum member equals its string."""
    from accounts import selectors

    def refuse(**kwargs):
        raise ApplicationError("user_not_found", "No user.", status=404)

    monkeypatch.setattr(selectors, "user_get_visible", refuse)
    assert CoreError("not_found") == "not_found"
    response = client_for(user).get("/api/v1/users/leo/")
    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"


# Where a generation's failure reason is written (cameos has a `_finish` of its own, for cameos).
FAILURE_REASON_CALLS = {"_finish", "_fail", "_stopped", "generation_fail", "_take_down"}
TAKE_DOWN_CALLS = {"generations_take_down_for_cameo"}


def test_every_failure_reason_written_is_a_choice_and_the_schema_lists_them():
    choices = set(GenerationFailureReason.values)
    written: list[tuple[str, int, str]] = []
    for name, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if callee in TAKE_DOWN_CALLS or (
                    callee in FAILURE_REASON_CALLS and name.startswith("generation/")
                ):
                    given = [k.value for k in node.keywords if k.arg == "reason"] + node.args[1:2]
                    written += [(name, node.lineno, v.value) for v in given if isinstance(v, ast.Constant)]
            if (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Attribute) and t.attr in ("failure_reason", "stop_reason")
                    for t in node.targets
                )
                and isinstance(node.value, ast.Constant)
                and node.value.value not in ("", "gone")
            ):
                written.append((name, node.lineno, node.value.value))
            if isinstance(node, ast.Dict) and name == "generation/output_checks.py":
                for key, value in zip(node.keys, node.values, strict=True):
                    if getattr(key, "value", None) == "code" and isinstance(value, ast.Constant):
                        written.append((name, node.lineno, value.value))

    assert len(written) > 10
    assert [w for w in written if w[2] not in choices] == []
    assert choices >= POLICY_CODES
    schema = openapi_schema()["components"]["schemas"]
    enums = [s.get("enum", []) for s in schema.values() if set(s.get("enum", [])) & {"canceled_by_requester"}]
    assert enums and set(enums[0]) == choices
