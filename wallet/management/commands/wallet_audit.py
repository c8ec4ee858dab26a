from django.core.management.base import BaseCommand, CommandError

from wallet.charges import charges_audit
from wallet.selectors import wallet_audit


class Command(BaseCommand):
    help = "Check every ledger invariant (balanced entries, balances = sum of lines, top-ups credited once); exit 1 naming what is wrong."

    def handle(self, *args, **options):
        findings = [*wallet_audit(), *charges_audit()]
        if not findings:
            self.stdout.write(self.style.SUCCESS("wallet_audit: the ledger is consistent."))
            return
        for finding in findings:
            for text in finding.problems:
                self.stderr.write(f"{finding.subject}: {text}")
        raise CommandError(
            f"wallet_audit: {len(findings)} problem(s): " + ", ".join(finding.subject for finding in findings)
        )
