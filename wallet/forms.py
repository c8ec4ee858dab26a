import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from wallet.amounts import INVALID_AMOUNT, AmountParseError, parse_amount


def new_idempotency_key() -> str:
    return "web-" + secrets.token_urlsafe(24)


class AmountField(forms.CharField):
    """A money amount typed by a person: parsed straight to Decimal; the rules are the service's."""

    def __init__(self, *, signed: bool = False, **kwargs):
        self.signed = signed
        # No max_length: its validator would run on the Decimal; parse_amount bounds the digits.
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "maxlength": "20"})
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_amount(value, signed=self.signed)
        except AmountParseError as exc:
            raise forms.ValidationError(INVALID_AMOUNT, code="invalid") from exc


class _IdempotentForm(forms.Form):
    # A fresh key is rendered with every form: submitting the same form twice
    # (double click, back + resubmit) sends the same key, so it counts once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255, required=False)


class TopUpForm(_IdempotentForm):
    """A preset amount or a custom one (the custom one wins when typed), and a channel."""

    preset = forms.ChoiceField(label=_("Amount"), required=False, widget=forms.RadioSelect)
    amount = AmountField(label=_("Other amount"), required=False)
    channel = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)

    def __init__(self, *args, presets: list[str], channels: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        preset, channel = self.fields["preset"], self.fields["channel"]
        assert isinstance(preset, forms.ChoiceField) and isinstance(channel, forms.ChoiceField)
        preset.choices = [(p, p) for p in presets]
        channel.choices = channels
        if channels and not self.is_bound:
            self.initial.setdefault("channel", channels[0][0])

    def clean(self):
        cleaned = super().clean() or {}
        if cleaned.get("amount") is None and "amount" not in self.errors:  # one message for a mistyped amount
            preset = cleaned.get("preset")
            if not preset:
                self.add_error("amount", _("Choose an amount or enter one."))
            else:
                cleaned["amount"] = parse_amount(preset)
        return cleaned


class AdjustBalanceForm(forms.Form):
    amount = AmountField(
        label=_("Amount"), signed=True, help_text=_("Positive to credit, negative to debit, e.g. -12.50.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class TopUpRefundForm(forms.Form):
    amount = AmountField(label=_("Amount"), required=False, help_text=_("Leave empty to refund all that is left."))
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
