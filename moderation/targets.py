"""What may be reported, and how moderation reaches it: one `TargetKind` per kind of target, keyed by the
name clients use. A new kind (comments, once feed has them) is one entry here: its model, the access
function that finds it as the reporter may see it (404 otherwise, so a report cannot probe for hidden
things), and whose it is (the user a decision affects)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from accounts.models import User
from accounts.selectors import user_get_visible
from cameos.models import Cameo
from cameos.selectors import cameo_get_visible
from core.exceptions import ApplicationError
from core.parsing import parse_ascii_int
from feed.models import Post
from generation.models import Generation
from generation.selectors import generation_get_visible
from moderation.errors import ModerationError


@dataclass(frozen=True)
class TargetKind:
    name: str
    model: type[models.Model]
    # (reporter, the client's id for it) -> the target as the reporter may see it, or an ApplicationError.
    resolve: Callable[[User, str], models.Model]
    # The user whose content or account it is.
    owner_id: Callable[[Any], int]
    # How many people saw it (target id -> count), for the queue's order; 0 where nothing is counted.
    reach: Callable[[int], int] = lambda _target_id: 0


def _integer_id(kind: str, raw: str) -> int:
    value = parse_ascii_int(raw)
    if value is None or value < 1:
        raise ApplicationError(
            ModerationError.REPORT_TARGET_NOT_FOUND, f"No {kind} {raw!r} that you can see.", status=404
        )
    return value


TARGET_KINDS: dict[str, TargetKind] = {
    kind.name: kind
    for kind in (
        TargetKind(
            name="video",
            model=Generation,
            resolve=lambda user, raw: generation_get_visible(
                viewer=user, generation_id=_integer_id("video", raw)
            ),
            owner_id=lambda generation: generation.requester_id,
            reach=lambda generation_id: Post.objects.filter(generation_id=generation_id)
            .values_list("view_count", flat=True)
            .first()
            or 0,
        ),
        TargetKind(
            name="cameo",
            model=Cameo,
            resolve=lambda user, raw: cameo_get_visible(viewer=user, cameo_id=_integer_id("cameo", raw)),
            owner_id=lambda cameo: cameo.owner_id,
        ),
        # Accounts are named by username, as everywhere else in the API.
        TargetKind(
            name="account",
            model=User,
            resolve=lambda user, raw: user_get_visible(viewer=user, username=raw),
            owner_id=lambda account: account.pk,
        ),
    )
}


def target_kind_for(target_type: ContentType) -> TargetKind:
    model = target_type.model_class()
    kind = next((kind for kind in TARGET_KINDS.values() if kind.model is model), None)
    if kind is None:
        raise LookupError(f"{target_type.app_label}.{target_type.model} is not a moderation target kind")
    return kind


def case_target_public_id(case: Any) -> str:
    """`target_public_id` of a case's target without a query when `case.subject` is already loaded: an
    account case is about the account itself."""
    kind = target_kind_for(case.target_type)
    if kind.model is User:
        return case.subject.username if case.subject is not None else ""
    return str(case.target_id)


def target_public_id(kind: TargetKind, target_id: int) -> str:
    """The id a client names the target by (a username for an account; "" if the account is gone)."""
    if kind.model is User:
        return User.objects.filter(pk=target_id).values_list("username", flat=True).first() or ""
    return str(target_id)
