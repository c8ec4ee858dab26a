"""Profile: the fields a person edits about themselves."""

import copy

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.errors import UsernameTaken
from accounts.models import Gender, User
from accounts.services.common import user_fields_validate, username_clean
from config.errors import InvalidInput

PROFILE_FIELDS = ("username", "nickname", "gender", "email", "job", "company")


def user_profile_update(*, user: User, data: dict) -> User:
    """Update profile fields (keys among username, nickname, gender, email, job, company).

    The username is 3-30 letters, digits, ``_ . -``, never shaped like a phone
    number, unique case-insensitively (UsernameTaken); an empty one removes it
    (only for accounts with a phone). Other keys: InvalidInput naming them.
    """
    unknown = sorted(set(data) - set(PROFILE_FIELDS))
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be changed here.")] for name in unknown})
    candidate = copy.copy(user)
    changed = []
    for name in PROFILE_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "username":
            value = username_clean(value, user=user)
            if value is None and not user.phone:
                raise InvalidInput(fields={"username": [_("An account without a phone number needs a username.")]})
        else:
            value = "" if value is None else str(value).strip()
        setattr(candidate, name, value)
        changed.append(name)
    if "gender" in changed and candidate.gender not in Gender.values:
        raise InvalidInput(fields={"gender": [_("Choose female, male or nothing.")]})
    user_fields_validate(candidate, changed)
    if not changed:
        return user
    for name in changed:
        setattr(user, name, getattr(candidate, name))
    try:
        with transaction.atomic():
            user.save(update_fields=changed)
    except IntegrityError:
        user.refresh_from_db()
        raise UsernameTaken() from None
    return user
