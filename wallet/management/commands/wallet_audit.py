from django.core.management.base import BaseCommand, CommandError

from wallet.selectors import wallet_audit


class Command(BaseCommand):
    help = "Check that every wallet's balance is reproducible from its ledger; exit 1 naming the wallets if not."

    def handle(self, *args, **options):
        findings = wallet_audit()
        if not findings:
            self.stdout.write(self.style.SUCCESS("wallet_audit: every wallet matches its ledger."))
            return
        for finding in findings:
            for text in finding.problems:
                self.stderr.write(f"wallet {finding.wallet_id} ({finding.owner}): {text}")
        raise CommandError(
            f"wallet_audit: {len(findings)} wallet(s) do not match their ledger: "
            + ", ".join(str(f.wallet_id) for f in findings)
        )
