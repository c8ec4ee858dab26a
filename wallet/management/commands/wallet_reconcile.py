import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wallet.channels.base import ChannelError
from wallet.errors import ChannelUnavailable
from wallet.models import ReconciliationMismatch
from wallet.reconciliation import BILL_TIME_ZONE, ReconciliationBusy, reconciliation_run

#: mismatches printed; the admin (Reconciliation runs) lists all of them
SHOWN = 50


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Compare a payment channel's bill for one day (Asia/Shanghai) with our top-ups and refunds, "
        "store the run with every mismatch, and exit 1 if there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, help="sandbox, alipay or wechatpay")
        parser.add_argument("--date", help="YYYY-MM-DD, a day in Asia/Shanghai (default: yesterday there)")

    def handle(self, *args: object, **options: str | None) -> None:
        channel = options["channel"] or ""
        if options["date"]:
            date = _date(options["date"])
        else:  # the providers publish a day's bill the next morning
            date = datetime.datetime.now(BILL_TIME_ZONE).date() - datetime.timedelta(days=1)
        try:
            run = reconciliation_run(channel=channel, date=date)
        except ChannelUnavailable as exc:
            raise CommandError(f"wallet_reconcile: channel {channel!r} is not enabled (WALLET_CHANNELS)") from exc
        except ReconciliationBusy as exc:
            raise CommandError(f"wallet_reconcile: {exc}") from exc
        except ChannelError as exc:
            raise CommandError(f"wallet_reconcile: the {channel} bill for {date} could not be had: {exc}") from exc
        summary = f"wallet_reconcile {channel} {date}: {run.bill_lines} bill line(s), run {run.pk}"
        if not run.mismatch_count:
            self.stdout.write(self.style.SUCCESS(f"{summary}: no mismatch."))
            return
        for mismatch in ReconciliationMismatch.objects.filter(run=run).order_by("pk")[:SHOWN]:
            self.stderr.write(str(mismatch))
        if run.mismatch_count > SHOWN:
            self.stderr.write(f"… and {run.mismatch_count - SHOWN} more (admin: Reconciliation runs).")
        raise CommandError(f"{summary}: {run.mismatch_count} mismatch(es).")
