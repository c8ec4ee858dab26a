"""Strings of third-party apps that their own catalogues leave untranslated in Chinese.

Never imported: it exists so ``makemessages`` puts these msgids in the root
catalogue (``locale/``), which Django reads before the apps' own catalogues.
"""

from django.utils.translation import gettext_noop

# rest_framework_simplejwt.token_blacklist (model names in the admin)
gettext_noop("Outstanding Token")
gettext_noop("Outstanding Tokens")
gettext_noop("Blacklisted Token")
gettext_noop("Blacklisted Tokens")
gettext_noop("Token for %(user)s (%(jti)s)")
gettext_noop("Blacklisted token for %(user)s")
