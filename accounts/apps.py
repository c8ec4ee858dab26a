from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")


class AccountsAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with ``accounts.admin_site.AccountsAdminSite`` as ``admin.site``."""

    default = False  # "accounts" in INSTALLED_APPS still means AccountsConfig

    default_site = "accounts.admin_site.AccountsAdminSite"
