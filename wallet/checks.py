"""``manage.py check --deploy`` warns when the sandbox channel is enabled in production;
``manage.py check`` fails when an enabled real channel is not configured."""

from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from wallet.channels import channel_get, channels_enabled
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


@register()
def channels_configured_check(app_configs, **kwargs):
    """An enabled Alipay or WeChat Pay channel with a missing key or SDK fails ``manage.py check`` at deploy
    time, instead of the first person's top-up. Building an adapter reads its keys and makes no network call."""
    errors = []
    for name in channels_enabled():
        if name == "sandbox":
            continue
        try:
            channel_get(name)
        except ImproperlyConfigured as exc:
            errors.append(Error(f"The {name} payment channel is enabled but not configured: {exc}", id="wallet.E001"))
    return errors
