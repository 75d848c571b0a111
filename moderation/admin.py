from django.contrib import admin

from moderation.models import Case, Flag


class FlagInline(admin.TabularInline):
    model = Flag
    extra = 0
    readonly_fields = ("source", "reason", "evidence", "priority", "created_at")


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("id", "target_type", "target_id", "status", "priority", "opened_at")
    list_filter = ("status", "target_type")
    inlines = [FlagInline]
