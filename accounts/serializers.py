from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User


class AvatarSerializer(serializers.Serializer):
    url = serializers.URLField()
    thumbnail_url = serializers.URLField()


class UserSerializer(serializers.ModelSerializer):
    """The User object of API.md (output only)."""

    phone = serializers.SerializerMethodField()
    avatar = serializers.SerializerMethodField()
    has_password = serializers.SerializerMethodField()

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
        )
        read_only_fields = fields

    def get_phone(self, user) -> str | None:
        return str(user.phone) if user.phone else None

    def get_has_password(self, user) -> bool:
        return user.has_usable_password()

    @extend_schema_field(AvatarSerializer(allow_null=True))
    def get_avatar(self, user) -> dict | None:
        if not user.avatar:
            return None
        request = self.context.get("request")

        def absolute(url: str) -> str:
            return request.build_absolute_uri(url) if request else url

        thumbnail = user.avatar_thumbnail.url if user.avatar_thumbnail else user.avatar.url
        return {"url": absolute(user.avatar.url), "thumbnail_url": absolute(thumbnail)}
