"""The support and finance groups' permissions.

Support staff answer people: they read accounts, security events, signed-in
devices, consents, the SMS log and the wallet's records, lift a login lockout
(``change_user``, which support has had since 0002) and sign a device out
(``end_device``). Finance staff move money by hand: balance adjustments and
top-up refunds, with the wallet records they need to read.

Permissions are normally created after all migrations (``post_migrate``); this
one runs before that on a fresh database, so it creates the rows it needs by
content type, as Django's documentation advises, with the names the models
give them (``post_migrate`` then finds them and leaves them be).
"""

from django.db import migrations

SUPPORT = "support"
FINANCE = "finance"

# (app_label, model, codename, name): the name is only used when the row does not exist yet.
SUPPORT_PERMISSIONS = [
    ("accounts", "user", "view_user", "Can view user"),
    ("accounts", "user", "change_user", "Can change user"),  # profile, unlock, revoke sessions (0002)
    ("accounts", "securityevent", "view_securityevent", "Can view security event"),
    ("accounts", "device", "view_device", "Can view signed-in device"),
    ("accounts", "device", "end_device", "Can sign out a user's device"),
    ("accounts", "consent", "view_consent", "Can view consent"),
    ("smscodes", "smsmessage", "view_smsmessage", "Can view SMS message"),
    ("wallet", "ledgeraccount", "view_ledgeraccount", "Can view ledger account"),
    ("wallet", "journalentry", "view_journalentry", "Can view journal entry"),
    ("wallet", "ledgerline", "view_ledgerline", "Can view ledger line"),
    ("wallet", "topup", "view_topup", "Can view top-up"),
    ("wallet", "topuprefund", "view_topuprefund", "Can view top-up refund"),
    ("wallet", "charge", "view_charge", "Can view charge"),
    ("wallet", "chargerefund", "view_chargerefund", "Can view charge refund"),
]

FINANCE_PERMISSIONS = [
    ("accounts", "user", "view_user", "Can view user"),
    ("wallet", "ledgeraccount", "view_ledgeraccount", "Can view ledger account"),
    ("wallet", "ledgeraccount", "adjust_balance", "Can adjust a wallet balance"),
    ("wallet", "ledgeraccount", "refund_top_up", "Can send a top-up back to its channel"),
    ("wallet", "journalentry", "view_journalentry", "Can view journal entry"),
    ("wallet", "ledgerline", "view_ledgerline", "Can view ledger line"),
    ("wallet", "topup", "view_topup", "Can view top-up"),
    ("wallet", "topuprefund", "view_topuprefund", "Can view top-up refund"),
    ("wallet", "paymentnotification", "view_paymentnotification", "Can view payment notification"),
    ("wallet", "charge", "view_charge", "Can view charge"),
    ("wallet", "chargerefund", "view_chargerefund", "Can view charge refund"),
    ("wallet", "reconciliationrun", "view_reconciliationrun", "Can view reconciliation run"),
    ("wallet", "reconciliationmismatch", "view_reconciliationmismatch", "Can view reconciliation mismatch"),
]


def _permission(apps, app_label: str, model: str, codename: str, name: str):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
    return Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})[0]


def groups_grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group_name, wanted in ((SUPPORT, SUPPORT_PERMISSIONS), (FINANCE, FINANCE_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(_permission(apps, *row) for row in wanted))


def groups_revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name=FINANCE).delete()
    support = Group.objects.filter(name=SUPPORT).first()
    if support is not None:  # back to 0002's view_user + change_user
        keep = {"view_user", "change_user"}
        support.permissions.remove(*[p for p in support.permissions.all() if p.codename not in keep])


class Migration(migrations.Migration):
    dependencies = [
        ('accounts', '0006_legal_documents_v1'),
        ('smscodes', '0003_purpose_delete_account'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.RunPython(groups_grant, groups_revoke),
    ]
