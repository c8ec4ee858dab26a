from django.core.management.base import BaseCommand

from wallet.services import top_up_refunds_sync, top_ups_sync


class Command(BaseCommand):
    help = (
        "Ask the channels about pending top-ups whose notification is late and close expired ones, "
        "then about top-up refunds they are still processing "
        "(run it from cron every minute; safe on several hosts at once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=100, help="At most this many top-ups (and refunds) per run.")

    def handle(self, *args, **options):
        report = top_ups_sync(batch=options["batch"])
        self.stdout.write(
            f"wallet_sync: queried {report.queried}, credited {report.credited}, "
            f"closed {report.closed}, failed {report.failed}."
        )
        # Refunds left frozen (WeChat Pay's PROCESSING, a lost answer): out on success, back on failure.
        refunds = top_up_refunds_sync(batch=options["batch"])
        self.stdout.write(
            f"wallet_sync: refunds queried {refunds.queried}, succeeded {refunds.succeeded}, failed {refunds.failed}."
        )
