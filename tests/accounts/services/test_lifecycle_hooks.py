"""accounts.lifecycle: other apps refuse a deletion and add to the export without accounts importing them."""

import pytest

from accounts.services.deletion import user_deletion_schedule
from accounts.services.export import SECTIONS, user_data_collect
from config.errors import ServiceError
from config.origin import Origin
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


class Refusal(ServiceError):
    status = 409
    code = "loyalty_points_left"


class RefusingHook:
    def deletion_check(self, *, user):
        raise Refusal()

    def export(self, *, user):
        return {"loyalty": {"points": 7}}


def test_without_hooks_the_export_has_every_section_and_deletion_is_allowed(settings):
    settings.ACCOUNTS_LIFECYCLE_HOOKS = []
    user = UserFactory()
    data = user_data_collect(user=user)
    assert set(SECTIONS) <= set(data)
    assert (data["wallet"], data["transactions"], data["top_ups"]) == (None, [], [])
    user_deletion_schedule(user=user, password=PASSWORD, origin=Origin.system())
    assert user.delete_after is not None


def test_a_hook_refuses_before_the_proof_is_checked_and_adds_its_section(settings):
    settings.ACCOUNTS_LIFECYCLE_HOOKS = [f"{__name__}.RefusingHook"]
    user = UserFactory()
    with pytest.raises(Refusal):
        user_deletion_schedule(user=user, password="not even checked", origin=Origin.system())
    user.refresh_from_db()
    assert user.delete_after is None
    assert user_data_collect(user=user)["loyalty"] == {"points": 7}
    assert not user.security_events.filter(kind="login_failed").exists()  # the wrong password was never tried


def test_the_wallet_hook_is_installed_by_default():
    from django.conf import settings

    assert "wallet.lifecycle.WalletLifecycle" in settings.ACCOUNTS_LIFECYCLE_HOOKS
