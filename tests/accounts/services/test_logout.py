"""accounts.services.logout.user_logout, called directly."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import SecurityEvent
from accounts.services import user_logout
from accounts.tokens import AccessToken, access_is_denied, tokens_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_logout_denies_the_access_token_and_blacklists_the_refresh_token(origin):
    user = UserFactory()
    tokens = tokens_issue(user)
    access = AccessToken(tokens["access"])
    user_logout(user=user, refresh=tokens["refresh"], access_jti=access["jti"], access_exp=access["exp"], origin=origin)
    assert access_is_denied(access["jti"])
    assert BlacklistedToken.objects.count() == 1
    assert SecurityEvent.objects.get(user=user).kind == "logout"


def test_logout_everywhere_revokes_every_token(origin):
    user = UserFactory()
    user_logout(user=user, all_devices=True, origin=origin)
    user.refresh_from_db()
    assert user.tokens_valid_after is not None
    assert SecurityEvent.objects.get(user=user).kind == "logout_all"


def test_a_foreign_refresh_token_is_ignored(origin):
    user, other = UserFactory(), UserFactory()
    user_logout(user=user, refresh=tokens_issue(other)["refresh"], origin=origin)
    assert not BlacklistedToken.objects.exists()
