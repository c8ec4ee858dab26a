import pytest
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction

from accounts.models import Role, User
from accounts.services import user_set_role
from config.origin import Origin
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_same_phone_in_two_formats_cannot_belong_to_two_accounts():
    User.objects.create_user(phone="13800138000")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(phone="+86 138 0013 8000")


def test_phone_is_stored_as_e164():
    user = User.objects.create_user(phone="008613800138000")
    user.refresh_from_db()
    assert str(user.phone) == "+8613800138000"


def test_usernames_differing_only_in_case_conflict():
    User.objects.create_user(username="Alice")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="alice")


def test_account_without_phone_or_username_cannot_be_saved():
    with pytest.raises(IntegrityError), transaction.atomic():
        User(nickname="nobody").save()
    with pytest.raises(ValueError):
        User.objects.create_user(phone="", username="  ")


def test_user_without_password_has_unusable_password():
    user = User.objects.create_user(phone="13800138000")
    assert not user.has_usable_password()


def test_login_by_username_is_case_insensitive():
    User.objects.create_user(username="Alice", password="pw")
    assert User.objects.get_by_natural_key("ALICE").username == "Alice"


def test_role_groups_exist_after_migrations():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"normal_user", "vip_user", "creator", "admin", "support"} <= names


def test_set_role_moves_the_user_between_role_groups():
    user = UserFactory()
    user_set_role(user=user, role=Role.VIP_USER, origin=Origin.system())
    user_set_role(user=user, role=Role.CREATOR, origin=Origin.system())
    user.refresh_from_db()
    assert user.role == "creator"
    assert list(user.groups.values_list("name", flat=True)) == ["creator"]


def test_set_role_keeps_groups_that_are_not_roles_and_forgets_cached_permissions():
    user = UserFactory()
    user.groups.add(Group.objects.get(name="support"))
    assert not user.has_perm("auth.view_group")  # fills the permission cache
    Group.objects.get(name="creator").permissions.add(Permission.objects.get(codename="view_group"))
    user_set_role(user=user, role=Role.CREATOR, origin=Origin.system())
    assert sorted(user.groups.values_list("name", flat=True)) == ["creator", "support"]
    assert user.has_perm("auth.view_group")


def test_create_user_costs_three_queries_in_one_transaction(django_assert_num_queries):
    # The user row, the role's group, the membership (plus SAVEPOINT/RELEASE
    # here: the test's transaction turns create_user's own into a savepoint).
    with django_assert_num_queries(5):
        user = User.objects.create_user(phone="13800138000")
    assert list(user.groups.values_list("name", flat=True)) == ["normal_user"]


def test_set_role_refuses_unknown_role():
    with pytest.raises(ValueError):
        user_set_role(user=UserFactory(), role="emperor", origin=Origin.system())


def test_createsuperuser_noinput_reads_environment(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "S3cure-pass-42")
    call_command("createsuperuser", interactive=False, verbosity=0)
    admin = User.objects.get(username="root")
    assert admin.is_superuser and admin.is_staff and admin.check_password("S3cure-pass-42")


class _TTY:
    def isatty(self):
        return True


def test_createsuperuser_interactive_prompts_for_username_and_password(monkeypatch):
    from django.core.management import call_command

    answers = iter(["boss"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "S3cure-pass-42")
    call_command("createsuperuser", interactive=True, stdin=_TTY(), verbosity=0)
    admin = User.objects.get(username="boss")
    assert admin.is_superuser and admin.role == Role.ADMIN


def test_new_users_are_in_their_role_group():
    assert list(UserFactory().groups.values_list("name", flat=True)) == ["normal_user"]
    admin = User.objects.create_superuser(username="root2", password="S3cure-pass-42")
    assert list(admin.groups.values_list("name", flat=True)) == ["admin"]
