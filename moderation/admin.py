from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest

from cameos.models import Cameo
from cameos.services import cameo_review_decide
from core.exceptions import ApplicationError
from moderation.models import Case, CaseStatus, Flag


class FlagInline(admin.TabularInline):
    model = Flag
    extra = 0
    readonly_fields = ("source", "reason", "evidence", "priority", "created_at")


def _decide_held_cameos(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Case], approve: bool
) -> None:
    """Decide the cameos held for review behind the selected cases, then resolve those cases; the owner
    is told by `cameo_review_decide`."""
    cameo_type = ContentType.objects.get_for_model(Cameo)
    for case in queryset.filter(target_type=cameo_type).exclude(status=CaseStatus.RESOLVED):
        try:
            cameo_review_decide(cameo_id=case.target_id, approve=approve)
        except ApplicationError as error:
            modeladmin.message_user(request, f"Case {case.pk}: {error.message}", level=messages.WARNING)
            continue
        case.status = CaseStatus.RESOLVED
        case.save(update_fields=["status", "updated_at"])


@admin.action(description="Approve the held cameo (it becomes verified) and resolve the case")
def approve_held_cameos(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Case]) -> None:
    _decide_held_cameos(modeladmin, request, queryset, approve=True)


@admin.action(description="Reject the held cameo and resolve the case")
def reject_held_cameos(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Case]) -> None:
    _decide_held_cameos(modeladmin, request, queryset, approve=False)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "target_type", "target_id", "status", "priority", "opened_at")
    list_filter = ("kind", "status", "target_type")
    inlines = [FlagInline]
    actions = [approve_held_cameos, reject_held_cameos]
