"""A page using the send-code control the way the account pages do, in front of the real URLs."""

from django.http import HttpResponse
from django.template import RequestContext, Template
from django.urls import include, path

from accounts.views import send_code_from_form

PAGE = Template(
    """{% extends "base.html" %}{% block content %}
<form method="post" class="card">{% csrf_token %}
  <label for="id_phone">Phone</label>
  <div class="row send-code-row">
    <input type="tel" name="phone" id="id_phone" value="{{ phone }}" required>
    {% include "smscodes/_send_code.html" with phone_field="phone" purpose="register" resend_in=resend_in %}
  </div>
  {% if message %}<p data-testid="send-code-result" role="status" class="{{ ok|yesno:'help,errorlist' }}">{{ message }}</p>{% endif %}
  <label for="id_code">Code</label><input name="code" id="id_code" required>
  <button type="submit">Sign up</button>
</form>{% endblock %}"""
)


def page(request):
    context = {"phone": "", "message": "", "ok": False, "resend_in": 0}
    if request.method == "POST" and "send_code" in request.POST:
        phone = request.POST.get("phone", "")
        ok, message, resend_in = send_code_from_form(request, phone=phone, purpose="register")
        context.update(phone=phone, message=message, ok=ok, resend_in=resend_in)
    return HttpResponse(PAGE.render(RequestContext(request, context)))


urlpatterns = [
    path("_test/send-code/", page),
    path("", include("config.urls")),
]
