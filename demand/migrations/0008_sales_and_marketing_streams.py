from django.db import migrations

STREAMS = [("sales", "Sales", "Sales"), ("marketing", "Marketing", "Marketing")]


def create(apps, schema_editor):
    InputStream = apps.get_model("demand", "InputStream")
    for code, name, role in STREAMS:
        InputStream.objects.get_or_create(code=code, defaults={"name": name, "role": role})


def remove(apps, schema_editor):
    apps.get_model("demand", "InputStream").objects.filter(
        code__in=[code for code, _, _ in STREAMS], entries__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("demand", "0007_input_streams")]

    operations = [migrations.RunPython(create, remove)]
