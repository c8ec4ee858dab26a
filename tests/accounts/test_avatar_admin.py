"""Support staff see avatars in the user list and detail, and can remove one (through the service)."""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User
from accounts.services.avatar import avatar_set
from tests.accounts.avatar_images import image_bytes, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pictured():
    user = UserFactory(nickname="Pictured")
    avatar_set(user=user, file=upload(image_bytes("PNG")))
    return user


def test_the_user_list_shows_the_thumbnail(support_client, pictured, django_assert_max_num_queries):
    UserFactory(nickname="Faceless")
    with django_assert_max_num_queries(8):
        response = support_client.get("/admin/accounts/user/")

    html = response.content.decode()
    assert f'src="{pictured.avatar_thumbnail.url}"' in html
    assert 'width="32"' in html


def test_the_user_detail_shows_the_thumbnail_read_only(support_client, pictured):
    response = support_client.get(f"/admin/accounts/user/{pictured.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'src="{pictured.avatar_thumbnail.url}"' in html
    assert 'name="avatar"' not in html  # no raw upload that would skip validation


def test_staff_remove_avatars_through_the_service(support_client, pictured, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = support_client.post(
            "/admin/accounts/user/",
            {"action": "remove_avatars", "_selected_action": [pictured.pk]},
            follow=True,
        )

    assert response.status_code == 200
    pictured.refresh_from_db()
    assert not pictured.avatar and not pictured.avatar_thumbnail


def test_staff_who_may_only_view_cannot_remove_avatars(client, pictured):
    viewer = User.objects.create_user(username="viewer1", password="V1ewer-pass", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(viewer)

    response = client.post("/admin/accounts/user/", {"action": "remove_avatars", "_selected_action": [pictured.pk]})

    assert response.status_code == 200  # the change list again: no such action for this user
    assert 'value="remove_avatars"' not in client.get("/admin/accounts/user/").content.decode()
    pictured.refresh_from_db()
    assert pictured.avatar and pictured.avatar_thumbnail


def test_deleting_a_user_in_the_admin_deletes_their_avatar_files(client, pictured, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    boss = User.objects.create_superuser(username="boss", password="B0ss-pass-1")
    client.force_login(boss)
    names = [pictured.avatar.name, pictured.avatar_thumbnail.name]
    assert all(default_storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/accounts/user/{pictured.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=pictured.pk).exists()
    assert not any(default_storage.exists(name) for name in names)


def test_bulk_delete_in_the_admin_deletes_avatar_files(client, pictured, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    boss = User.objects.create_superuser(username="boss", password="B0ss-pass-1")
    client.force_login(boss)
    names = [pictured.avatar.name, pictured.avatar_thumbnail.name]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/accounts/user/",
            {"action": "delete_selected", "_selected_action": [pictured.pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert not any(default_storage.exists(name) for name in names)
