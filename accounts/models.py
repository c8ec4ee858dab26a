import secrets
import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from config.phone_display import phone_display
from config.phones import phone_to_e164


class Role(models.TextChoices):
    NORMAL_USER = "normal_user", _("Normal user")
    VIP_USER = "vip_user", _("VIP user")
    CREATOR = "creator", _("Creator")
    ADMIN = "admin", _("Administrator")


class Gender(models.TextChoices):
    UNSET = "", _("Not set")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


username_validator = RegexValidator(
    r"^[A-Za-z0-9_.\-]{3,30}$",
    _("3 to 30 characters: letters, digits, and _ . -"),
    code="invalid_username",
)


def avatar_upload_to(instance, filename):
    # Never the uploaded name: a random one, keeping only our own extension.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"avatars/{uuid.uuid4().hex}.{extension}"


def role_group(role: str) -> Group:
    """The group that carries ``role``'s permissions (created on first use)."""
    return Group.objects.get_or_create(name=role)[0]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _normalize_identity(self, phone, username):
        if phone:
            e164 = phone_to_e164(phone)
            if e164 is None:
                raise ValueError(f"Not a valid phone number: {phone!r}")
            phone = e164
        phone = phone or None
        username = (username or "").strip() or None
        if phone is None and username is None:
            raise ValueError("A user needs a phone number or a username.")
        return phone, username

    def create_user(self, phone=None, username=None, password=None, **extra_fields):
        phone, username = self._normalize_identity(phone, username)
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        user = self.model(phone=phone, username=username, **extra_fields)
        # No password means "logs in by SMS code": an unusable hash, never "".
        user.set_password(password) if password else user.set_unusable_password()
        with transaction.atomic(using=self._db):  # never a user without their role's group
            user.save(using=self._db)
            # A new user belongs to no group yet: joining the role's group is all
            # there is to do (two queries). Role changes: accounts.services.user_set_role.
            user.groups.add(role_group(user.role))
        return user

    def create_superuser(self, username=None, password=None, phone=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("role", Role.ADMIN)
        if extra_fields.get("is_staff") is not True or extra_fields.get("is_superuser") is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self.create_user(phone=phone, username=username, password=password, **extra_fields)

    def get_by_natural_key(self, username):
        # Usernames are unique case-insensitively, so look them up that way.
        return self.get(username__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    phone = PhoneNumberField(_("phone number"), unique=True, null=True, blank=True)
    username = models.CharField(
        _("username"), max_length=30, unique=True, null=True, blank=True, validators=[username_validator]
    )
    nickname = models.CharField(_("nickname"), max_length=50, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True, default=Gender.UNSET)
    email = models.EmailField(_("email address"), blank=True)
    job = models.CharField(_("job"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=100, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to=avatar_upload_to, blank=True)
    avatar_thumbnail = models.ImageField(_("avatar thumbnail"), upload_to=avatar_upload_to, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.NORMAL_USER)
    # JWTs (and sessions) issued before this moment are refused: logout
    # everywhere, password reset/change and deactivation set it to now.
    tokens_valid_after = models.DateTimeField(_("tokens valid after"), null=True, blank=True)

    # The latest version of each legal document this person agreed to,
    # {"terms": 3, "privacy": 5}: a copy of the newest Consent row per kind, so
    # GET /me/ can list what is still to accept without another query.
    consents_accepted = models.JSONField(_("documents agreed to"), default=dict, blank=True)
    # Account deletion (注销): asked for at ``deletion_scheduled_at``, erased by
    # accounts_purge once ``delete_after`` has passed; ``deleted_at`` marks the
    # anonymised account that remains (its ledger and consent records stay).
    deletion_scheduled_at = models.DateTimeField(_("deletion requested at"), null=True, blank=True)
    delete_after = models.DateTimeField(_("to be deleted after"), null=True, blank=True, db_index=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Upper, not Lower: ``username__iexact`` emits UPPER(username) = UPPER(%s), so this
            # one expression index both enforces the rule and serves every lookup by username.
            models.UniqueConstraint(Upper("username"), name="accounts_user_username_ci_unique"),
            # A purged account keeps neither (its number and name are free again).
            models.CheckConstraint(
                condition=(models.Q(phone__isnull=False) & ~models.Q(phone=""))
                | (models.Q(username__isnull=False) & ~models.Q(username=""))
                | models.Q(deleted_at__isnull=False),
                name="accounts_user_phone_or_username",
            ),
        ]
        indexes = [
            # ``email__iexact`` (admin search) emits UPPER(email).
            models.Index(Upper("email"), name="accounts_user_email_upper"),
            # The admin's default order (-date_joined, then -pk to be deterministic): read in index order.
            models.Index(fields=["-date_joined", "-id"], name="accounts_user_joined"),
            # On PostgreSQL, migration 0008 adds trigram GIN indexes for nickname__icontains
            # and phone__endswith (admin search); they are not in the model because SQLite has none.
        ]
        # The specific permissions of accounts.services.staff: each guards one
        # credential or identity field of another account (change_user alone
        # covers the profile, unlock and session revocation).
        permissions = [
            ("change_user_role", _("Can change a user's role")),
            ("change_user_password", _("Can set a user's password")),
            ("change_user_phone", _("Can change a user's phone number")),
            ("change_user_username", _("Can change a user's username")),
            ("change_user_active", _("Can activate or deactivate a user")),
        ]

    def __str__(self):
        # A number as people write it (138 0013 8000): the admin's titles and breadcrumbs show this.
        return self.username or phone_display(self.phone) or f"user {self.pk}"

    def clean(self):
        super().clean()
        if self.username == "":
            self.username = None
        if self.phone == "":
            self.phone = None


class SecurityEvent(models.Model):
    """An append-only audit row: who did what, from where (read-only in the admin).

    ``user`` is empty for a failed login naming an unknown account; ``login``
    keeps what was typed (normalised) so support staff can still find it.
    """

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Signed up")
        LOGIN_SUCCEEDED = "login_succeeded", _("Login succeeded")
        LOGIN_FAILED = "login_failed", _("Login failed")
        LOGIN_LOCKED = "login_locked", _("Login refused: account locked")
        LOGOUT = "logout", _("Logged out")
        LOGOUT_ALL = "logout_all", _("Logged out on all devices")
        PASSWORD_RESET = "password_reset", _("Password reset")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PHONE_CHANGED = "phone_changed", _("Phone number changed")
        SESSIONS_REVOKED = "sessions_revoked", _("All sessions revoked")
        UNLOCKED = "unlocked", _("Login lockout lifted")
        DEACTIVATED = "deactivated", _("Account deactivated")
        ACTIVATED = "activated", _("Account reactivated")
        ROLE_CHANGED = "role_changed", _("Role changed")
        ACCESS_CHANGED = "access_changed", _("Staff access changed")
        DEVICE_ENDED = "device_ended", _("Signed out a device")
        REFRESH_REUSED = "refresh_reused", _("Refresh token reused: device signed out")
        CONSENT_GIVEN = "consent_given", _("Agreed to legal documents")
        DELETION_SCHEDULED = "deletion_scheduled", _("Account deletion requested")
        DELETION_CANCELLED = "deletion_cancelled", _("Account deletion cancelled")
        ACCOUNT_PURGED = "account_purged", _("Account erased")
        DATA_EXPORTED = "data_exported", _("Personal data downloaded")

    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="security_events",
        db_index=False,  # (user, -created_at) below serves every lookup by user
    )
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    login = models.CharField(_("login name used"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_sec_user_time"),
            # The admin list's order (-created_at, -id): no sort over millions of rows.
            models.Index(fields=["-created_at", "-id"], name="accounts_sec_time"),
            # Support looks up what was typed at a failed login (admin search).
            models.Index(fields=["login", "-created_at"], name="accounts_sec_login_time"),
        ]

    def __str__(self):
        # Local time with its zone, as the admin shows it everywhere (never a second, UTC, time).
        when = timezone.localtime(self.created_at)
        return f"{self.get_kind_display()} · {self.user or self.login} · {when:%Y-%m-%d %H:%M:%S %Z}"


def device_id_new() -> str:
    return "d_" + secrets.token_hex(12)


class Device(models.Model):
    """One sign-in: a token family (``app``) or a browser session (``browser``).

    Tokens carry its id (``sid``); refreshing keeps it; logging out, "sign out
    everywhere", a reused refresh token or a staff member end it
    (``ended_at``). That column is the revocation record: the cache
    (``accounts.device_state``) only answers faster.
    """

    class Kind(models.TextChoices):
        APP = "app", _("App")
        BROWSER = "browser", _("Browser")

    id = models.CharField(primary_key=True, max_length=32, default=device_id_new, editable=False)
    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="devices",
        db_index=False,  # (user, -created_at) below serves every lookup by user
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # The browser session's key, to end it from elsewhere (empty for apps).
    session_key = models.CharField(_("session key"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    ended_at = models.DateTimeField(_("signed out at"), null=True, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("signed-in device")
        verbose_name_plural = _("signed-in devices")
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_device_user_time"),
            models.Index(fields=["-created_at", "-id"], name="accounts_device_time"),  # the admin list's order
        ]
        permissions = [("end_device", _("Can sign out a user's device"))]

    def __str__(self):
        return f"{self.name or self.get_kind_display()} · {self.user}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class LegalDocument(models.Model):
    """One published version of the user agreement or the privacy policy.

    A new version is a new row; old ones stay readable at /legal/<kind>/<version>/.
    The current version of a kind is its highest published one.
    """

    class Kind(models.TextChoices):
        TERMS = "terms", _("User agreement")
        PRIVACY = "privacy", _("Privacy policy")

    kind = models.CharField(_("document"), max_length=10, choices=Kind.choices)
    version = models.PositiveIntegerField(_("version"))
    title_zh_hans = models.CharField(_("title (Chinese)"), max_length=100)
    title_en = models.CharField(_("title (English)"), max_length=100)
    text_zh_hans = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("legal document")
        verbose_name_plural = _("legal documents")
        ordering = ("kind", "-version")
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="accounts_legal_kind_version")]

    def __str__(self):
        return f"{self.kind}:{self.version}"

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.version}"

    def title_for(self, language: str | None) -> str:
        return self.title_zh_hans if (language or "").lower().startswith("zh") else self.title_en

    def text_for(self, language: str | None) -> str:
        return self.text_zh_hans if (language or "").lower().startswith("zh") else self.text_en


class Consent(models.Model):
    """One acceptance of one document version: append-only proof of consent (kept after a purge)."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="consents")
    document = models.ForeignKey(LegalDocument, verbose_name=_("document"), on_delete=models.PROTECT)
    accepted_at = models.DateTimeField(_("accepted at"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ("-accepted_at",)
        indexes = [models.Index(fields=["-accepted_at", "-id"], name="accounts_consent_time")]  # the admin list's order

    def __str__(self):
        return f"{self.user} · {self.document} · {self.accepted_at:%Y-%m-%d %H:%M:%S}"
