"""The one authentication backend: ``authenticate()`` checks passwords the way the API does.

Django's ``ModelBackend`` compares the password and nothing else, so before
this backend ``/admin/login/`` (and anything else calling
``django.contrib.auth.authenticate``) ignored the account lockout and the
per-IP throttle and left no security event. Here every password check goes
through ``user_login_password``: the same lockout, the same per-IP budget
(shared with the API and the login page), the same events.

A refusal stops ``authenticate()`` (``PermissionDenied`` for a lockout or a
throttle, ``None`` for wrong credentials), never a 500. The reason is kept on
the request so a form can say "locked, try again in 15 minutes" instead of
"wrong password": ``authentication_refusal(request)``.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.errors import AccountDisabled, AccountLocked, InvalidCredentials
from accounts.models import User
from accounts.selectors import users_with_legal_versions
from accounts.services.login import user_login_password
from config.errors import RateLimited, ServiceError
from config.origin import Origin

BACKEND = "accounts.backends.AccountBackend"
_REFUSAL_ATTR = "_accounts_authentication_refusal"


def authentication_refusal(request: HttpRequest | None) -> ServiceError | None:
    """Why the last ``authenticate()`` on ``request`` returned None, if this backend said no."""
    return getattr(request, _REFUSAL_ATTR, None) if request is not None else None


class AccountBackend(ModelBackend):
    """``ModelBackend`` (sessions, permissions) whose password check is ``user_login_password``.

    ``username`` may be a username or a phone number in any format, as on
    the API. Other credentials (no password given) are not this backend's.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        if request is not None:
            setattr(request, _REFUSAL_ATTR, None)
        try:
            origin = Origin.from_request(request) if request is not None else Origin.system()
            return user_login_password(login=username, password=password, origin=origin)
        except (AccountLocked, RateLimited) as exc:
            self._remember(request, exc)
            raise PermissionDenied(str(exc.message)) from exc  # no other backend may try
        except (InvalidCredentials, AccountDisabled) as exc:
            self._remember(request, exc)
            return None

    @staticmethod
    def _remember(request: HttpRequest | None, exc: ServiceError) -> None:
        if request is not None:
            setattr(request, _REFUSAL_ATTR, exc)

    def get_user(self, user_id: Any) -> User | None:
        # The session's user, loaded with the current legal versions in the same
        # query: the consent gate of the pages (accounts.middleware) costs nothing.
        user = users_with_legal_versions().filter(pk=user_id).first()
        return user if self.user_can_authenticate(user) else None
