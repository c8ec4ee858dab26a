"""One group per role plus "support" for support staff (permissions follow roles)."""

from django.db import migrations

ROLE_GROUPS = ["normal_user", "vip_user", "creator", "admin"]
SUPPORT_GROUP = "support"
SUPPORT_PERMISSIONS = ["view_user", "change_user"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)
    support, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    # Permissions are normally created after migrations; make the ones we need now.
    user_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    for codename in SUPPORT_PERMISSIONS:
        permission, _ = Permission.objects.get_or_create(
            content_type=user_type, codename=codename, defaults={"name": codename.replace("_", " ").capitalize()}
        )
        support.permissions.add(permission)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[*ROLE_GROUPS, SUPPORT_GROUP]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
