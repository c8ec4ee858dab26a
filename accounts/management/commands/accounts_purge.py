from django.core.management.base import BaseCommand

from accounts.services.deletion import PURGE_BATCH_SIZE, users_purge
from config.origin import Origin


class Command(BaseCommand):
    help = (
        "Erase the personal data of the accounts whose deletion grace period has passed "
        "(run it from cron, e.g. hourly; idempotent and safe on several hosts at once)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", type=int, default=PURGE_BATCH_SIZE, help="Accounts locked and erased per transaction."
        )

    def handle(self, *args, **options):
        result = users_purge(origin=Origin.system(), batch_size=max(1, options["batch"]))
        for user_id, reason in sorted(result.skipped.items()):
            self.stderr.write(f"accounts_purge: user {user_id} left scheduled ({reason}).")
        self.stdout.write(f"accounts_purge: erased {len(result.purged)}, left scheduled {len(result.skipped)}.")
