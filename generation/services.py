from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.exceptions import ApplicationError
from core.realtime import push_to_user
from generation.models import IN_FLIGHT, Generation, GenerationCameo, GenerationStatus


def _take_down(generation: Generation, *, reason: str) -> None:
    """Delete the media, mark the row removed (never publishable again), and stop it if still running: the
    runner re-reads the row between steps and gives up on a canceled job."""
    for field_file in (generation.video, generation.poster):
        if field_file and default_storage.exists(field_file.name):
            default_storage.delete(field_file.name)
    generation.video = ""
    generation.poster = ""
    generation.removed_at = timezone.now()
    generation.removed_reason = reason
    fields = ["video", "poster", "removed_at", "removed_reason"]
    if generation.status in IN_FLIGHT:
        generation.status = GenerationStatus.CANCELED
        generation.failure_reason = reason
        fields += ["status", "failure_reason"]
    generation.save(update_fields=fields)
    transaction.on_commit(
        lambda: push_to_user(
            user_id=generation.requester_id,
            event_type="generation.removed",
            data={"generation_id": generation.pk, "reason": reason},
        )
    )


@transaction.atomic
def appearance_remove(*, owner: User, generation_id: int) -> None:
    """A cameo owner takes down a generation that uses their cameo, whoever made it."""
    used_by_owner = GenerationCameo.objects.filter(owner=owner).values("generation_id")
    generation = Generation.objects.select_for_update().filter(pk=generation_id, pk__in=used_by_owner).first()
    if generation is None:
        raise ApplicationError(
            "appearance_not_found", f"No generation {generation_id} uses your cameo.", status=404
        )
    if generation.removed_at is None:
        _take_down(generation, reason="removed_by_cameo_owner")


@transaction.atomic
def generations_take_down_for_cameo(*, cameo_id: int, reason: str) -> int:
    """Take down every generation that used a cameo (its erasure): returns how many."""
    ids = GenerationCameo.objects.filter(cameo_id=cameo_id).values_list("generation_id", flat=True)
    taken = 0
    for generation in Generation.objects.select_for_update().filter(
        pk__in=list(ids), removed_at__isnull=True
    ):
        _take_down(generation, reason=reason)
        taken += 1
    return taken
