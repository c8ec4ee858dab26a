from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_get_by_login
from accounts.services.staff import user_access_set
from config.origin import Origin

# The staff groups of migration 0007 (what each may do: README, "Support and finance staff").
STAFF_GROUPS = ("support", "finance")


class Command(BaseCommand):
    help = (
        "Make an existing account a support or finance staff member: staff status plus the group "
        "(an 'access_changed' security event records it). The person signs up first, or a superuser "
        "creates the account in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("login", help="The account's phone number (any format) or username.")
        parser.add_argument("--group", choices=STAFF_GROUPS, action="append", required=True)

    def handle(self, *args, **options):
        user = user_get_by_login(options["login"])
        if user is None:
            raise CommandError(f"No account with the phone number or username {options['login']!r}.")
        if not user.is_active or user.deleted_at is not None:
            raise CommandError("That account is not active.")
        groups = set(user.groups.all()) | set(Group.objects.filter(name__in=options["group"]))
        user_access_set(
            user=user,
            origin=Origin.system(),  # the operator at the command line
            is_staff=True,
            is_superuser=user.is_superuser,
            groups=groups,
            user_permissions=list(user.user_permissions.all()),
        )
        self.stdout.write(f"{user} is now staff in: {', '.join(sorted(g.name for g in user.groups.all()))}.")
