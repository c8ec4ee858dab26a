"""The ``delete_account`` purpose (account deletion by code, API.md) widens the purpose check constraint."""

from django.db import migrations, models

PURPOSES = [
    ("register", "Sign-up"),
    ("login", "Login"),
    ("reset_password", "Password reset"),
    ("change_phone", "Phone number change"),
    ("delete_account", "Account deletion"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("smscodes", "0002_scale_indexes"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="smsmessage", name="smscodes_smsmessage_purpose_valid"),
        migrations.AlterField(
            model_name="smsmessage",
            name="purpose",
            field=models.CharField(choices=PURPOSES, max_length=20, verbose_name="purpose"),
        ),
        migrations.AddConstraint(
            model_name="smsmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(purpose__in=[value for value, _ in PURPOSES]),
                name="smscodes_smsmessage_purpose_valid",
            ),
        ),
    ]
