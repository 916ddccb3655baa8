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


@admin.register(models.InputStream)
class InputStreamAdmin(admin.ModelAdmin):
    """Admins add a stream (e.g. "key accounts") and name the role that enters it."""

    list_display = ["code", "name", "role", "active"]
    list_filter = ["role", "active"]


@admin.register(models.StreamEntry)
class StreamEntryAdmin(admin.ModelAdmin):
    list_display = ["cycle", "stream", "level", "family", "product", "location", "month"]
    list_display += ["kind", "value", "author", "version"]
    list_filter = ["cycle", "stream", "level"]
    raw_id_fields = ["product", "location"]


@admin.register(models.ConsensusSource)
class ConsensusSourceAdmin(admin.ModelAdmin):
    list_display = ["cycle", "level", "family", "product", "weights", "reason", "author"]
    list_filter = ["cycle", "level", "reason"]
    raw_id_fields = ["product"]
