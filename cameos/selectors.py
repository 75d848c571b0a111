"""Reads about cameos. `cameo_get_for_generation` is the one decision on whether a user may use a cameo
right now: every path that uses a likeness (generation at request time, at job start, before a result is
stored; drafts before publishing) goes through it, so a change of permission, a block or a deletion takes
effect at the very next use."""

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import are_mutuals, is_blocked_between
from cameos.errors import CameoError
from cameos.models import (
    AccessRequestStatus,
    Cameo,
    CameoAccessRequest,
    CameoPermission,
    CameoStatus,
    ErasureRecord,
)
from core.exceptions import ApplicationError


def _not_found(cameo_id: object) -> ApplicationError:
    return ApplicationError(CameoError.CAMEO_NOT_FOUND, f"No cameo {cameo_id} that you can see.", status=404)


def cameo_use_refusal(*, user: User, cameo: Cameo) -> ApplicationError | None:
    """Why `user` may not use `cameo` now, or None if they may. The order matters: what would reveal that
    a hidden cameo exists is answered as "not found"."""
    owner = cameo.owner
    # A banned (inactive) or suspended account's likeness is used by nobody, themselves included.
    if not owner.is_active or not user.is_active or owner.is_suspended() or user.is_suspended():
        return _not_found(cameo.pk)
    if user.pk == owner.pk:
        if cameo.status != CameoStatus.VERIFIED:
            return ApplicationError(
                CameoError.CAMEO_NOT_VERIFIED,
                f"Cameo {cameo.pk} is {cameo.status}, not verified.",
                status=409,
            )
        return None
    if cameo.status != CameoStatus.VERIFIED or is_blocked_between(user, owner):
        return _not_found(cameo.pk)
    if cameo.permission == CameoPermission.ONLY_ME:
        return _permission_denied(cameo, can_request=False)
    approved = CameoAccessRequest.objects.filter(
        cameo=cameo, requester=user, status=AccessRequestStatus.APPROVED
    ).exists()
    if approved:
        return None
    if cameo.permission == CameoPermission.MUTUALS and are_mutuals(user, owner):
        return None
    # Teen protection: a minor reaches others' cameos (and others a minor's) only through a mutual follow
    # or an explicit approval, never through "everyone".
    if cameo.permission == CameoPermission.EVERYONE and not user.is_minor and not owner.is_minor:
        return None
    return _permission_denied(cameo, can_request=True)


def _permission_denied(cameo: Cameo, *, can_request: bool) -> ApplicationError:
    return ApplicationError(
        CameoError.CAMEO_PERMISSION_DENIED,
        f"You may not use @{cameo_mention(cameo)}'s cameo"
        + (": ask its owner for access." if can_request else "."),
        status=403,
        extra={"cameo_id": cameo.pk, "can_request_access": can_request},
    )


def cameo_mention(cameo: Cameo) -> str:
    return cameo.handle if cameo.kind == "character" else cameo.owner.username


def cameo_get_for_generation(*, user: User, cameo_id: int) -> Cameo:
    """The cameo `cameo_id` if `user` may use it right now; otherwise an ApplicationError with the reason."""
    cameo = Cameo.objects.select_related("owner").filter(pk=cameo_id).first()
    if cameo is None:
        raise _not_found(cameo_id)
    refusal = cameo_use_refusal(user=user, cameo=cameo)
    if refusal is not None:
        raise refusal
    return cameo


def cameo_get_by_mention(*, user: User, mention: str) -> Cameo:
    """Resolve `@mention` (a username's person cameo, or a character's handle) for use by `user`.

    A cameo that does not exist and one that `user` may not see (blocked either way, owner gone, not
    verified) get the very same error, naming only what was typed: a mention must not reveal whether
    someone who blocked you has a cameo."""
    handle = mention.removeprefix("@")
    not_found = ApplicationError(
        CameoError.CAMEO_NOT_FOUND, f"No cameo @{handle} that you can use.", status=404
    )
    cameo = (
        Cameo.objects.select_related("owner")
        .filter(kind="person", owner__username__lower=handle.lower(), status=CameoStatus.VERIFIED)
        .first()
        or Cameo.objects.select_related("owner")
        .filter(kind="character", handle__lower=handle.lower())
        .first()
    )
    if cameo is None:
        raise not_found
    refusal = cameo_use_refusal(user=user, cameo=cameo)
    if refusal is not None:
        raise not_found if refusal.code == "cameo_not_found" else refusal
    return cameo


def _not_deleted(cameos: QuerySet[Cameo]) -> QuerySet[Cameo]:
    """Cameos whose deletion has not been asked for. Deleting takes a cameo out of its owner's list and
    detail at once, the same state they see once the erasure behind it has run."""
    return cameos.exclude(pk__in=ErasureRecord.objects.values("cameo_id"))


def cameo_get_owned(*, owner: User, cameo_id: int) -> Cameo:
    cameo = _not_deleted(Cameo.objects.filter(pk=cameo_id, owner=owner)).first()
    if cameo is None:
        raise _not_found(cameo_id)
    return cameo


def cameo_get_visible(*, viewer: User, cameo_id: int) -> Cameo:
    """A cameo's public card as `viewer` may see it: verified, owner active and not blocked either way."""
    cameo = Cameo.objects.select_related("owner").filter(pk=cameo_id, owner__is_active=True).first()
    if cameo is None:
        raise _not_found(cameo_id)
    if cameo.owner_id == viewer.pk:
        return cameo
    if cameo.status != CameoStatus.VERIFIED or is_blocked_between(viewer, cameo.owner):
        raise _not_found(cameo_id)
    return cameo


def cameos_of_owner(*, owner: User) -> QuerySet[Cameo]:
    return _not_deleted(Cameo.objects.filter(owner=owner)).order_by("-id")


def access_requests_for_owner(*, owner: User, status: str | None = None) -> QuerySet[CameoAccessRequest]:
    requests = CameoAccessRequest.objects.filter(
        cameo__owner=owner, cameo__in=_not_deleted(Cameo.objects.all())
    ).select_related("requester", "cameo")
    return requests.filter(status=status) if status else requests
