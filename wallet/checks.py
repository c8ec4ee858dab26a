"""``manage.py check --deploy`` warns when the sandbox channel is enabled in production."""

from django.core.checks import Tags, Warning, register

from wallet.channels import channels_enabled
from wallet.conf import wallet_settings


@register(Tags.security, deploy=True)
def sandbox_enabled_check(app_configs, **kwargs):
    if "sandbox" not in channels_enabled():
        return []
    hint = (
        "Anyone holding a sandbox checkout link can credit a wallet without paying. "
        "Remove sandbox from WALLET_CHANNELS unless this is a demo deployment."
    )
    if not wallet_settings.SANDBOX_SECRET:
        hint += " (It stays disabled anyway while WALLET_SANDBOX_SECRET is empty.)"
    return [Warning("The sandbox payment channel is enabled.", hint=hint, id="wallet.W001")]
