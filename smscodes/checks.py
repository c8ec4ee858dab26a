"""Start-up checks of the SMS settings (``manage.py check``): bad values are clamped at run time, said here."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from smscodes import conf


@register()
def sms_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    issues: list[CheckMessage] = []
    if not 4 <= int(settings.SMS_CODE_LENGTH) <= 8:
        issues.append(
            Warning(f"SMS_CODE_LENGTH={settings.SMS_CODE_LENGTH} is outside 4..8; clamped.", id="smscodes.W001")
        )
    if int(settings.SMS_CODE_TTL) > conf.MAX_CODE_TTL:
        issues.append(Warning(f"SMS_CODE_TTL above {conf.MAX_CODE_TTL} s is capped.", id="smscodes.W002"))
    try:
        numbers = conf.test_numbers()
    except ImproperlyConfigured as exc:
        issues.append(Error(str(exc), id="smscodes.E001"))
    else:
        for phone, code in numbers.items():
            if len(code) != conf.code_length():
                issues.append(
                    Warning(
                        f"SMS_TEST_NUMBERS: the code of {phone} does not have SMS_CODE_LENGTH digits.",
                        id="smscodes.W003",
                    )
                )
    return issues
