import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import User


def test_argon2id_with_owasp_parameters_is_the_default():
    hasher = get_hasher("argon2")
    encoded = make_password("Correct-horse-9", hasher="argon2")
    assert settings.PASSWORD_HASHERS[-3] == "accounts.hashers.OwaspArgon2PasswordHasher"
    assert encoded.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
    assert hasher.verify("Correct-horse-9", encoded)


def test_old_pbkdf2_hashes_still_verify():
    encoded = make_password("Correct-horse-9", hasher="pbkdf2_sha256")
    assert check_password("Correct-horse-9", encoded)


@pytest.mark.parametrize(
    "password, code",
    [
        ("a1b2c3", "password_too_short"),
        ("a1" * 65, "password_too_long"),
        ("password1", "password_too_common"),
        ("83749261", "password_entirely_numeric"),
        ("onlyletterslong", "password_letter_digit"),
    ],
)
def test_weak_passwords_are_refused(password, code):
    with pytest.raises(ValidationError) as exc:
        validate_password(password)
    assert code in [e.code for e in exc.value.error_list]


def test_password_similar_to_phone_is_refused():
    user = User(phone="+8613800138000")
    with pytest.raises(ValidationError):
        validate_password("x13800138000", user)


def test_letter_and_digit_rule_can_be_turned_off(settings):
    settings.ACCOUNTS_PASSWORD_REQUIRE_LETTER_AND_DIGIT = False
    validate_password("onlyletterslong")


def test_good_password_passes():
    validate_password("Blue-Kettle-42")


def test_too_short_message_is_translated():
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        validate_password("a1b2")
    assert "密码长度太短" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("password", "language", "message"),
    [
        ("1234", "zh-hans", "密码太弱：至少 8 个字符，包含字母和数字，不能是常见密码。"),
        ("password1", "zh-hans", "密码太弱：不能是常见密码。"),
        ("onlyletterslong", "zh-hans", "密码太弱：包含字母和数字。"),
        (
            "1234",
            "en",
            "This password is too weak: at least 8 characters, with a letter and a digit, not a common password.",
        ),
        ("a1" * 65, "en", "This password is too weak: at most 128 characters."),
    ],
)
def test_a_weak_password_is_one_short_message_in_the_words_of_the_rules(password, language, message):
    from django.utils import translation

    from accounts.validators import password_problems_merge

    with translation.override(language), pytest.raises(ValidationError) as exc:
        validate_password(password)
    with translation.override(language):
        assert password_problems_merge(exc.value) == message


def test_numbers_alone_are_named_as_such_when_letters_are_not_required(settings):
    from accounts.validators import password_problems_merge

    settings.ACCOUNTS_PASSWORD_REQUIRE_LETTER_AND_DIGIT = False
    with pytest.raises(ValidationError) as exc:
        validate_password("83749261")
    assert password_problems_merge(exc.value) == "密码太弱：不能全是数字。"
