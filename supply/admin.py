from django.contrib import admin

from supply.models import CapacityAdjustment, PlannedSupplyEdit, SupplyRun


@admin.register(SupplyRun)
class SupplyRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "cycle", "status", "progress", "is_published", "created_at")
    list_filter = ("status", "is_published")
    readonly_fields = ("chunks_finished", "demand_fingerprint", "error")


@admin.register(PlannedSupplyEdit)
class PlannedSupplyEditAdmin(admin.ModelAdmin):
    list_display = ("cycle", "product", "location", "month", "quantity", "reason", "author")
    list_filter = ("reason",)
    search_fields = ("product__sku",)
    raw_id_fields = ("product",)


@admin.register(CapacityAdjustment)
class CapacityAdjustmentAdmin(admin.ModelAdmin):
    list_display = ("cycle", "resource", "month", "delta_hours", "reason", "author")
    list_filter = ("reason", "resource")
