from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "wallet"
    verbose_name = _("Wallet")

    def ready(self):
        from wallet import checks  # noqa: F401, PLC0415 - registers the deploy check (Django's documented habit)
