from django.core.management.base import BaseCommand

from wallet.services import idempotency_records_prune


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key responses older than 24 hours (run it from cron, e.g. hourly)."

    def handle(self, *args, **options):
        deleted = idempotency_records_prune()
        self.stdout.write(f"Deleted {deleted} idempotency record(s) older than 24 hours.")
