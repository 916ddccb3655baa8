from django.contrib import admin

from demand import models


@admin.register(models.ForecastRun)
class ForecastRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "cycle",
        "status",
        "progress",
        "series_count",
        "is_published",
        "created_at",
    ]
    list_filter = ["status", "is_published"]
    readonly_fields = [f.name for f in models.ForecastRun._meta.fields]


@admin.register(models.DemandOverride)
class DemandOverrideAdmin(admin.ModelAdmin):
    list_display = [
        "cycle",
        "level",
        "family",
        "product",
        "location",
        "month",
        "kind",
        "value",
        "reason",
        "author",
        "version",
    ]
    list_filter = ["cycle", "level", "reason"]
    raw_id_fields = ["product", "location"]
