# The reorder point becomes the order-up-to level of the periodic review (it now covers the
# review period too), and each target records how its safety stock was set.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('supply', '0003_stock_target_plan_hash'),
    ]

    operations = [
        migrations.RenameField(
            model_name='stocktarget',
            old_name='reorder_point',
            new_name='order_up_to',
        ),
        migrations.AlterField(
            model_name='stocktarget',
            name='order_up_to',
            field=models.FloatField(
                help_text='Demand over lead time plus review period, plus safety stock'
            ),
        ),
        migrations.AddField(
            model_name='stocktarget',
            name='safety_stock_method',
            field=models.CharField(
                choices=[
                    ('quantiles', "from forecast quantiles"),
                    ('normal', 'normal formula: history too short'),
                    ('sales', 'normal formula: no forecast, std of recent sales'),
                ],
                default='normal',
                max_length=10,
            ),
        ),
    ]
