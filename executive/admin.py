from django.contrib import admin

from executive.models import PlanApproval


@admin.register(PlanApproval)
class PlanApprovalAdmin(admin.ModelAdmin):
    """Read-only: an approval and its frozen plan never change (the database refuses)."""

    list_display = ("cycle", "scenario_name", "approved_by_name", "approved_at", "checksum")
    readonly_fields = [f.name for f in PlanApproval._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
