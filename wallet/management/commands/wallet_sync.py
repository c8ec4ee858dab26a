from django.core.management.base import BaseCommand

from wallet.services import top_ups_sync


class Command(BaseCommand):
    help = (
        "Ask the channels about pending top-ups whose notification is late and close expired ones "
        "(run it from cron every minute; safe on several hosts at once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=100, help="At most this many top-ups per run.")

    def handle(self, *args, **options):
        report = top_ups_sync(batch=options["batch"])
        self.stdout.write(
            f"wallet_sync: queried {report.queried}, credited {report.credited}, "
            f"closed {report.closed}, failed {report.failed}."
        )
