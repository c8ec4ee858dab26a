"""Template context every page shares (registered in settings.TEMPLATES)."""

import phonenumbers
from django.conf import settings

from config.phone_display import phone_prefix


def site(request) -> dict:
    """The brand, and what the phone and code inputs need to look right.

    ``PHONE_REGIONS`` lists (region, "+code") for the region picker, shown only
    when ``SMS_ALLOWED_REGIONS`` has more than one region; otherwise the page
    shows the one fixed ``PHONE_PREFIX``.
    """
    regions = [(region, f"+{phonenumbers.country_code_for_region(region)}") for region in settings.SMS_ALLOWED_REGIONS]
    return {
        "SITE_BRAND": settings.SITE_BRAND,
        "PHONE_PREFIX": phone_prefix(),
        "PHONE_DEFAULT_REGION": settings.SMS_DEFAULT_REGION,
        "PHONE_REGIONS": regions if len(regions) > 1 else [],
        "SMS_CODE_LENGTH": settings.SMS_CODE_LENGTH,
    }
