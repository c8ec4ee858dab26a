from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Device, Gender, User
from accounts.selectors import consent_outstanding
from config.serializers import FieldsOnce
from smscodes.models import Purpose


class AvatarSerializer(serializers.Serializer):
    url = serializers.URLField()
    thumbnail_url = serializers.URLField()


class DeletionSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField()
    delete_after = serializers.DateTimeField()


class UserSerializer(FieldsOnce, serializers.ModelSerializer):
    """The User object of API.md (output only).

    A plain field list: a new field is a name in ``Meta.fields`` plus, when it
    is not a column, a ``SerializerMethodField`` and its ``get_<name>``.
    ``FieldsOnce`` builds the fields once per process (the hot path of
    ``GET /api/v1/me/`` and of every Session answer).
    """

    phone = serializers.SerializerMethodField()
    avatar = serializers.SerializerMethodField()
    has_password = serializers.SerializerMethodField()
    deletion = serializers.SerializerMethodField()
    consent_required = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = (
            "id",
            "username",
            "phone",
            "nickname",
            "gender",
            "email",
            "job",
            "company",
            "avatar",
            "role",
            "has_password",
            "date_joined",
            "deletion",
            "consent_required",
        )
        read_only_fields = fields

    def get_phone(self, user) -> str | None:
        return str(user.phone) if user.phone else None

    def get_has_password(self, user) -> bool:
        return user.has_usable_password()

    @extend_schema_field(DeletionSerializer(allow_null=True))
    def get_deletion(self, user) -> dict | None:
        # From the user row itself: GET /me/ stays one query.
        if user.delete_after is None or user.deleted_at is not None:
            return None
        return DeletionSerializer({"scheduled_at": user.deletion_scheduled_at, "delete_after": user.delete_after}).data

    def get_consent_required(self, user) -> list[str]:
        # The current versions come with the user row (accounts.selectors.users_with_legal_versions).
        return consent_outstanding(user=user)

    @extend_schema_field(AvatarSerializer(allow_null=True))
    def get_avatar(self, user) -> dict | None:
        if not user.avatar:
            return None
        request = self.context.get("request")

        def absolute(url: str) -> str:
            return request.build_absolute_uri(url) if request else url

        thumbnail = user.avatar_thumbnail.url if user.avatar_thumbnail else user.avatar.url
        return {"url": absolute(user.avatar.url), "thumbnail_url": absolute(thumbnail)}


# --- Auth and "me" (API.md "Auth", "The current user") -----------------------------------


class TokensSerializer(serializers.Serializer):
    token_type = serializers.CharField(default="Bearer")
    access = serializers.CharField()
    access_expires_in = serializers.IntegerField(help_text="Seconds.")
    refresh = serializers.CharField()
    refresh_expires_in = serializers.IntegerField(help_text="Seconds.")


class SessionSerializer(serializers.Serializer):
    user = UserSerializer()
    tokens = TokensSerializer()


def _password_field(**kwargs):
    return serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs)


def _optional(**kwargs):
    return serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None, **kwargs)


class _CodeOrTokenInput(serializers.Serializer):
    code = _optional(max_length=16, help_text="The SMS code; or give verification_token.")
    verification_token = _optional(max_length=512, help_text="From POST /api/v1/sms/codes/verify/.")


def _consent_field(**kwargs):
    return serializers.ListField(
        child=serializers.CharField(max_length=40),
        max_length=10,
        help_text='The documents agreed to, "<kind>:<version>" (GET /api/v1/legal/), e.g. ["terms:3", "privacy:5"].',
        **kwargs,
    )


class RegisterInputSerializer(_CodeOrTokenInput):
    phone = _optional(max_length=32, help_text="Required unless ACCOUNTS_PHONE_REQUIRED is off.")
    password = _password_field(required=False, allow_blank=True, allow_null=True, max_length=4096)
    username = _optional(max_length=64)
    nickname = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, default="")
    consent = _consent_field(required=False, default=list)


class LoginInputSerializer(serializers.Serializer):
    # Parsed on every password login (the hot path): by config.serializers.input_validate.
    login = serializers.CharField(max_length=150, help_text="Phone number in any format, or username.")
    password = _password_field(max_length=4096)


class LoginCodeInputSerializer(_CodeOrTokenInput):
    phone = serializers.CharField(max_length=32)
    consent = _consent_field(required=False, default=list)


class CodeSessionSerializer(serializers.Serializer):
    user = UserSerializer()
    tokens = TokensSerializer()
    created = serializers.BooleanField(help_text="True when this sign-in created the account (201).")


class ConsentInputSerializer(serializers.Serializer):
    consent = _consent_field()


class LegalDocumentSerializer(serializers.Serializer):
    kind = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField()
    published_at = serializers.DateTimeField()


class LegalDocumentListSerializer(serializers.Serializer):
    documents = LegalDocumentSerializer(many=True)


# Our tokens are a few hundred characters; the cap keeps megabytes away from the JWT decoder.
TOKEN_MAX_LENGTH = 4096


class TokenRefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=TOKEN_MAX_LENGTH)


class TokenVerifyInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX_LENGTH)


class TokenVerifyOutputSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    user_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(required=False, allow_blank=True, max_length=TOKEN_MAX_LENGTH)
    all_devices = serializers.BooleanField(required=False, default=False)


class PasswordResetInputSerializer(_CodeOrTokenInput):
    phone = serializers.CharField(max_length=32)
    new_password = _password_field(max_length=4096)


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = _password_field(
        required=False, allow_blank=True, max_length=4096, help_text="Not needed when the account has no password."
    )
    new_password = _password_field(max_length=4096)


class PhoneChangeInputSerializer(_CodeOrTokenInput):
    phone = serializers.CharField(max_length=32, help_text="The new number (code purpose change_phone).")
    password = _password_field(
        required=False,
        allow_blank=True,
        max_length=4096,
        help_text="The current password; needed unless the login is recent.",
    )


class MeUpdateInputSerializer(serializers.Serializer):
    """PATCH /api/v1/me/: the editable profile fields, parsed.

    Other fields of the User object sent here are handed to
    ``user_profile_update`` as they are, which refuses them by name.
    """

    username = _optional(max_length=64)
    nickname = serializers.CharField(required=False, allow_blank=True, max_length=50)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    job = serializers.CharField(required=False, allow_blank=True, max_length=100)
    company = serializers.CharField(required=False, allow_blank=True, max_length=100)


# --- SMS codes (docs/API.md, "SMS codes"; the send endpoint is accounts'): -------------------


class SmsCodeSendInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32, help_text="Mobile number in any common format, e.g. 13800138000.")
    purpose = serializers.ChoiceField(choices=Purpose.choices)


class SmsCodeSendOutputSerializer(serializers.Serializer):
    phone = serializers.CharField(help_text="E.164")
    purpose = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")
    resend_in = serializers.IntegerField(help_text="Seconds before another code may be requested.")


class DeletionInputSerializer(_CodeOrTokenInput):
    password = _password_field(
        required=False, allow_blank=True, max_length=4096, help_text="Or a delete_account code / verification_token."
    )


class DeviceSerializer(serializers.ModelSerializer):
    """A signed-in device of docs/API.md; ``current`` compares with the context's ``current`` id."""

    current = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = ("id", "kind", "name", "ip", "created_at", "last_seen_at", "current")
        read_only_fields = fields

    def get_current(self, device: Device) -> bool:
        return device.pk == self.context.get("current")


class DeviceListSerializer(serializers.Serializer):
    results = DeviceSerializer(many=True)
