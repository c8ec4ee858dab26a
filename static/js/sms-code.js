/* The "send code" button (smscodes/_send_code.html).
 *
 * Without this script the button submits its form and the page answers.
 * With it, the button posts {phone, purpose} to the API by fetch, shows the
 * answer next to the phone field, and counts down the remaining seconds the
 * server gave (resend_in, or retry_after when it says "too soon"). After a
 * code is sent, focus moves to the code field. A button gated by an
 * agreement checkbox (site.js, data-gated) stays disabled after the countdown.
 */
(function () {
  "use strict";
  if (window.smsCodeControl) return; // the include may appear more than once
  window.smsCodeControl = true;

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  // The API answers in E.164; people read a Chinese mobile as "138 0013 8000" (config/phone_display.py).
  function displayPhone(phone) {
    var match = /^\+86(1\d{2})(\d{4})(\d{4})$/.exec(phone || "");
    return match ? match[1] + " " + match[2] + " " + match[3] : phone;
  }

  // With a region picker (several SMS_ALLOWED_REGIONS), a number typed without "+" is in the picked region.
  function withRegion(form, value) {
    var region = form.elements.phone_region;
    value = value.trim();
    if (!region || !value || value.charAt(0) === "+" || value.slice(0, 2) === "00") return value;
    return region.options[region.selectedIndex].text + " " + value;
  }

  function status(button) {
    var id = button.getAttribute("data-status-id");
    var element = id && document.getElementById(id);
    var anchor = button.closest(".row") || button;
    // A page re-rendered by the server may already show an answer there: replace it, do not add a second one.
    var next = anchor.nextElementSibling;
    if (!element && next && next.getAttribute("role") === "status") element = next;
    if (!element) {
      element = document.createElement("p");
      element.id = "sms-status-" + Math.random().toString(36).slice(2);
      element.setAttribute("role", "status");
      element.setAttribute("aria-live", "polite");
      element.setAttribute("data-testid", "sms-send-status");
      anchor.insertAdjacentElement("afterend", element);
      button.setAttribute("data-status-id", element.id);
    }
    return element;
  }

  function show(button, text, ok) {
    var element = status(button);
    element.className = ok ? "help sent" : "errorlist";
    element.textContent = text;
  }

  function countdown(button, seconds) {
    clearInterval(button.smsTimer);
    var end = Date.now() + seconds * 1000; // timers drift; the end time does not
    function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(button.smsTimer);
        button.removeAttribute("data-counting");
        button.disabled = button.hasAttribute("data-gated");
        button.textContent = button.getAttribute("data-label");
        return;
      }
      button.setAttribute("data-counting", "");
      button.disabled = true;
      button.textContent = format(button.getAttribute("data-wait-label"), { seconds: left });
    }
    tick();
    button.smsTimer = setInterval(tick, 250);
  }

  function csrfToken(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function send(button) {
    var form = button.form;
    var phone = form.elements[button.getAttribute("data-phone-field")];
    button.disabled = true;
    fetch(button.getAttribute("data-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(form) },
      body: JSON.stringify({ phone: withRegion(form, phone ? phone.value : ""), purpose: button.getAttribute("data-purpose") })
    })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (answer) {
        var body = answer.body || {};
        button.disabled = button.hasAttribute("data-gated");
        if (answer.status === 200) {
          show(button, format(button.getAttribute("data-sent-message"), { phone: displayPhone(body.phone) }), true);
          countdown(button, body.resend_in || 0);
          var code = form.elements.code;
          if (code && code.focus) code.focus();
          return;
        }
        var fields = body.fields || {};
        var message = (fields.phone && fields.phone[0]) || (fields.purpose && fields.purpose[0]) || body.message;
        if (body.code === "sms_cooldown" && body.retry_after) countdown(button, body.retry_after);
        else if (body.retry_after) {
          // A cap (per number, per network, per day): say when, not just "later".
          var minutes = Math.max(1, Math.ceil(body.retry_after / 60));
          message = format(button.getAttribute("data-retry-label"), { minutes: minutes });
        }
        show(button, message, false);
      })
      .catch(function () {
        button.disabled = button.hasAttribute("data-gated");
        show(button, button.getAttribute("data-network-error"), false);
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-sms-send]");
    if (!button || !button.form || !window.fetch) return; // no fetch: the plain form submit works
    event.preventDefault();
    send(button);
  });

  function start() {
    var buttons = document.querySelectorAll("button[data-sms-send]");
    for (var i = 0; i < buttons.length; i++) {
      var seconds = parseInt(buttons[i].getAttribute("data-resend-in"), 10);
      if (seconds > 0) countdown(buttons[i], seconds);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
