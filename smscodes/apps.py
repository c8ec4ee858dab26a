from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsCodesConfig(AppConfig):
    name = "smscodes"
    verbose_name = _("SMS codes")
