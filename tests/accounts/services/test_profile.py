"""accounts.services.profile.user_profile_update, called directly."""

import pytest

from accounts.errors import UsernameTaken
from accounts.services import user_profile_update
from config.errors import InvalidInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_profile_fields_are_cleaned_and_saved():
    user = UserFactory(nickname="Before")
    user_profile_update(user=user, data={"nickname": "  After ", "gender": "female", "job": None, "username": "Dora"})
    user.refresh_from_db()
    assert (user.nickname, user.gender, user.job, user.username) == ("After", "female", "", "Dora")


def test_usernames_are_unique_case_insensitively_and_never_phone_shaped():
    UserFactory(username="Erin")
    user = UserFactory()
    with pytest.raises(UsernameTaken) as taken:
        user_profile_update(user=user, data={"username": "ERIN"})
    assert set(taken.value.fields) == {"username"}
    with pytest.raises(InvalidInput):
        user_profile_update(user=user, data={"username": "+86 139 0000 0000"})


def test_fields_outside_the_profile_are_refused_by_name():
    user = UserFactory()
    with pytest.raises(InvalidInput) as refused:
        user_profile_update(user=user, data={"phone": "+8613800138000", "role": "admin", "nickname": "x"})
    assert set(refused.value.fields) == {"phone", "role"}


def test_an_account_without_a_phone_keeps_its_username():
    user = UserFactory(phone=None, username="frank")
    with pytest.raises(InvalidInput) as refused:
        user_profile_update(user=user, data={"username": ""})
    assert set(refused.value.fields) == {"username"}
