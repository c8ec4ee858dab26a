"""accounts.services.staff: what support staff do to an account, called directly."""

import pytest

from accounts.models import Role, SecurityEvent, User
from accounts.services import user_deactivate, user_revoke_all_sessions, user_set_role, user_unlock
from config.origin import Origin
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_origin():
    actor = User.objects.create_user(username="support9", password="Supp0rt-pass-1", is_staff=True)
    return Origin(ip="192.0.2.44", user_agent="Admin/1", actor=actor)


@pytest.mark.parametrize(
    "service, kind",
    [(user_revoke_all_sessions, "sessions_revoked"), (user_unlock, "unlocked"), (user_deactivate, "deactivated")],
)
def test_each_staff_action_records_who_did_it(service, kind, staff_origin):
    user = UserFactory()
    service(user=user, origin=staff_origin)
    event = SecurityEvent.objects.get(kind=kind, user=user)
    assert event.detail == {"actor_id": staff_origin.actor.pk, "actor": str(staff_origin.actor)}
    assert (event.ip, event.user_agent) == ("192.0.2.44", "Admin/1")


def test_deactivation_disables_and_revokes(staff_origin):
    user = UserFactory()
    user_deactivate(user=user, origin=staff_origin)
    user.refresh_from_db()
    assert not user.is_active and user.tokens_valid_after is not None


def test_a_role_change_moves_the_user_between_role_groups_together():
    user = UserFactory()
    user_set_role(user=user, role=Role.VIP_USER)
    user.refresh_from_db()
    assert user.role == Role.VIP_USER
    assert list(user.groups.values_list("name", flat=True)) == [Role.VIP_USER]
    with pytest.raises(ValueError):
        user_set_role(user=user, role="emperor")
