"""Every write of the accounts app: the one place each account rule lives.

One module per flow (``register``, ``login``, ``logout``, ``password``,
``phone``, ``profile``, ``staff``, ``deletion``, ``export``, ``codes``, ``avatar``, ``consent``); ``common`` holds the pieces
they share. API views, page views and admin actions call these functions;
they parse and render, these decide. Codes and verification tokens go through
``smscodes.services.verification_consume`` only. Errors are the
``ServiceError`` subclasses of ``accounts.errors`` / ``config.errors``.

The public functions are re-exported here, so ``from accounts.services import
user_register`` works wherever the flow lives.
"""

from accounts.services.avatar import avatar_remove, avatar_set
from accounts.services.codes import phone_code_send
from accounts.services.consent import user_consent_give
from accounts.services.deletion import user_delete, user_deletion_cancel, user_deletion_schedule, users_purge
from accounts.services.export import user_data_export
from accounts.services.login import user_login_code, user_login_password, user_login_password_device
from accounts.services.logout import user_logout
from accounts.services.password import user_password_change, user_password_reset
from accounts.services.phone import user_phone_change
from accounts.services.profile import PROFILE_FIELDS, user_profile_update
from accounts.services.register import user_register
from accounts.services.staff import user_deactivate, user_revoke_all_sessions, user_set_role, user_unlock

__all__ = [
    "PROFILE_FIELDS",
    "avatar_remove",
    "avatar_set",
    "phone_code_send",
    "user_data_export",
    "user_deactivate",
    "user_consent_give",
    "user_delete",
    "user_deletion_cancel",
    "user_deletion_schedule",
    "user_login_code",
    "user_login_password",
    "user_login_password_device",
    "user_logout",
    "user_password_change",
    "user_password_reset",
    "user_phone_change",
    "user_profile_update",
    "user_register",
    "user_revoke_all_sessions",
    "user_set_role",
    "user_unlock",
    "users_purge",
]
