import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sop", "0005_import_job_warnings_and_options"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["cycle", "object_type", "-at"], name="audit_cycle_history_idx"
            ),
        ),
        # The new index starts with cycle_id, so the foreign key's own index goes.
        migrations.AlterField(
            model_name="auditevent",
            name="cycle",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="sop.cycle",
            ),
        ),
    ]
