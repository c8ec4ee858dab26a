from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsCodesConfig(AppConfig):
    name = "smscodes"
    verbose_name = _("SMS codes")

    def ready(self):
        from smscodes import checks  # noqa: F401 - registers the settings checks
