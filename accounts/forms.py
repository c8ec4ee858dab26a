"""Forms of the account pages.

They only parse what a person typed; every rule (phone format, code, password
strength, uniqueness, lockout…) is the service's, which raises a
``ServiceError``. ``config.forms.form_add_service_error`` puts that error
next to the field it is about, in the active language.
"""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from accounts import conf
from accounts.models import Gender


def _phone_field(label=None) -> forms.CharField:
    return forms.CharField(
        # A context of our own: phonenumber_field's catalogue comes first and says 电话号码.
        label=label or pgettext_lazy("mobile", "Phone number"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "autocomplete": "tel",
                "inputmode": "tel",
                "placeholder": _("Enter your phone number"),
            }
        ),
    )


def _code_field() -> forms.CharField:
    return forms.CharField(
        label=_("Verification code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*", "maxlength": "12"}
        ),
    )


def _password_field(label, *, autocomplete: str, required: bool = True, help_text="") -> forms.CharField:
    # strip=False: spaces are part of a password. The length cap only keeps
    # megabyte bodies away from the hasher; the service validates strength.
    return forms.CharField(
        label=label,
        required=required,
        strip=False,
        max_length=4096,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def _consent_field() -> forms.CharField:
    # The checkbox of accounts/_consent.html: its value lists the documents shown ("terms:1 privacy:1").
    return forms.CharField(label=_("Agreement"), required=False, max_length=200)


class SignupForm(forms.Form):
    phone = _phone_field()
    code = _code_field()
    password = _password_field(
        _("Password"),
        autocomplete="new-password",
        required=False,
        help_text=_("Without a password you log in with an SMS code."),
    )
    username = forms.CharField(
        label=_("Username"),
        required=False,
        max_length=30,
        help_text=_("3 to 30 characters: letters, digits, and _ . -"),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    nickname = forms.CharField(
        label=_("Nickname"), required=False, max_length=50, widget=forms.TextInput(attrs={"autocomplete": "nickname"})
    )
    consent = _consent_field()


class LoginPasswordForm(forms.Form):
    login = forms.CharField(
        label=_("Phone number or username"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = _password_field(_("Password"), autocomplete="current-password")


class LoginCodeForm(forms.Form):
    phone = _phone_field()
    code = _code_field()
    consent = _consent_field()


class ConsentForm(forms.Form):
    consent = _consent_field()


class PasswordResetForm(forms.Form):
    phone = _phone_field()
    code = _code_field()
    new_password = _password_field(_("New password"), autocomplete="new-password")


class PasswordChangeForm(forms.Form):
    old_password = _password_field(_("Current password"), autocomplete="current-password")
    new_password = _password_field(_("New password"), autocomplete="new-password")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # A phone-only account has no password to confirm: it sets its first one.
        if not user.has_usable_password():
            del self.fields["old_password"]


class PhoneChangeForm(forms.Form):
    phone = _phone_field(_("New phone number"))
    code = _code_field()
    password = _password_field(
        _("Current password"),
        autocomplete="current-password",
        required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.has_usable_password():
            del self.fields["password"]
        else:
            minutes = max(1, conf.recent_login_seconds() // 60)
            self.fields["password"].help_text = ngettext_lazy(
                "Needed if you logged in more than %(minutes)d minute ago.",
                "Needed if you logged in more than %(minutes)d minutes ago.",
                "minutes",
            ) % {"minutes": minutes}


class ProfileForm(forms.Form):
    nickname = forms.CharField(label=_("Nickname"), required=False, max_length=50)
    username = forms.CharField(
        label=_("Username"),
        required=False,
        max_length=30,
        help_text=_("3 to 30 characters: letters, digits, and _ . -"),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    gender = forms.ChoiceField(label=_("Gender"), required=False, choices=Gender.choices)
    email = forms.EmailField(
        label=_("Email address"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    job = forms.CharField(label=_("Job"), required=False, max_length=100)
    company = forms.CharField(
        label=_("Company"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )

    @classmethod
    def initial_for(cls, user) -> dict:
        return {name: getattr(user, name) or "" for name in cls.base_fields}


class DeletionForm(forms.Form):
    """Account deletion (注销): the password, or a code sent to the account's own number (either will do)."""

    password = _password_field(_("Password"), autocomplete="current-password", required=False)
    code = _code_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        if not user.has_usable_password():
            del self.fields["password"]
        if not user.phone:
            del self.fields["code"]
