/* Small enhancements of every page (loaded by base.html; no inline script anywhere).
 *
 * Each one is optional: without JavaScript every page works as plain HTML
 * forms and links. Texts come from data-* attributes the templates translate.
 *
 *  - submit buttons show a spinner and are disabled while their form is sent;
 *  - a password field gets a show/hide (eye) toggle;
 *  - the one-time code input is shown as cells (still one input named "code");
 *  - a form with errors puts focus on its first invalid field;
 *  - the login tabs are an ARIA tab control (arrow keys, Home/End);
 *  - the account menu closes with Escape or a tap elsewhere;
 *  - switching language keeps what was typed in the page's forms (where a form is marked with
 *    {% keep_typed %} the server keeps it, script or not; this covers the other forms);
 *  - a checkbox with data-gates-send-code enables the send-code button only when checked.
 */
(function () {
  "use strict";

  function each(selector, fn, root) {
    var nodes = (root || document).querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) fn(nodes[i]);
  }

  // --- Loading state on submit ------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var form = event.target;
    var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    if (!button || button.hasAttribute("data-sms-send")) return;
    if (form.getAttribute("data-submitting") === "1") { event.preventDefault(); return; } // a double tap counts once
    form.setAttribute("data-submitting", "1");
    button.setAttribute("aria-busy", "true");
    // Disabled after the browser has read the button's name/value into the submission.
    setTimeout(function () { button.disabled = true; }, 0);
  });
  // Back/forward cache: a page restored after leaving must not stay "busy".
  window.addEventListener("pageshow", function () {
    each("form[data-submitting]", function (form) { form.removeAttribute("data-submitting"); });
    each("button[aria-busy=true]", function (button) { button.removeAttribute("aria-busy"); button.disabled = false; });
  });

  // --- Password show/hide -------------------------------------------------------------------
  var EYE = '<svg class="eye" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2" d="M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z"/><circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="2"/></svg>' +
    '<svg class="eye-off" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2" d="M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z"/><path stroke="currentColor" stroke-width="2" d="M3 3l18 18"/></svg>';
  function passwordToggles() {
    each("[data-password]", function (wrap) {
      var labels = { show: wrap.getAttribute("data-show-label"), hide: wrap.getAttribute("data-hide-label") };
      var input = wrap.querySelector("input");
      if (!input || wrap.querySelector(".password-toggle")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "password-toggle";
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-label", labels.show);
      button.setAttribute("aria-controls", input.id);
      button.setAttribute("data-testid", "password-toggle");
      button.innerHTML = EYE;
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        button.setAttribute("aria-pressed", show ? "true" : "false");
        button.setAttribute("aria-label", show ? labels.hide : labels.show);
      });
      wrap.appendChild(button);
    });
  }

  // --- One-time code cells -------------------------------------------------------------------
  function codeCells() {
    each("[data-code-length]", function (wrap) {
      var input = wrap.querySelector("input");
      var length = parseInt(wrap.getAttribute("data-code-length"), 10) || 6;
      if (!input || wrap.classList.contains("code-cells")) return;
      wrap.classList.add("code-cells");
      if (input.getAttribute("aria-invalid") === "true") wrap.setAttribute("data-invalid", "");
      var cells = [];
      for (var i = 0; i < length; i++) {
        var cell = document.createElement("span");
        cell.className = "code-cell";
        cell.setAttribute("aria-hidden", "true");
        cell.setAttribute("data-testid", "code-cell");
        wrap.appendChild(cell);
        cells.push(cell);
      }
      function digits(value) {
        // Full-width digits from a Chinese input method count as digits (the server accepts them).
        return value.replace(/[\uff10-\uff19]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); })
          .replace(/\D/g, "").slice(0, length);
      }
      function render() {
        var value = digits(input.value);
        if (value !== input.value) input.value = value;
        for (var i = 0; i < cells.length; i++) {
          cells[i].textContent = value.charAt(i);
          cells[i].classList.toggle("current", i === Math.min(value.length, length - 1));
        }
      }
      input.setAttribute("maxlength", String(length));
      input.addEventListener("input", render);
      input.addEventListener("focus", render);
      render();
    });
  }

  // --- Focus on the first invalid field ---------------------------------------------------------
  function focusFirstError() {
    var invalid = document.querySelector("main [aria-invalid=true]");
    var summary = document.querySelector("[data-error-summary]");
    if (invalid) invalid.focus();
    else if (summary) summary.focus();
  }

  // --- Login tabs: the ARIA tab pattern (automatic activation) ---------------------------------------
  function tabs() {
    each("[role=tablist]", function (list) {
      var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
      function select(tab, focus) {
        tabs.forEach(function (other) {
          var selected = other === tab;
          other.setAttribute("aria-selected", selected ? "true" : "false");
          other.tabIndex = selected ? 0 : -1;
          var panel = document.getElementById(other.getAttribute("aria-controls"));
          if (panel) panel.hidden = !selected;
        });
        if (focus) tab.focus();
        if (tab.getAttribute("data-url") && window.history.replaceState) window.history.replaceState(null, "", tab.getAttribute("data-url"));
      }
      // Roving tabindex: Tab reaches the selected tab, arrows the others (without JavaScript all are links).
      tabs.forEach(function (tab) { tab.tabIndex = tab.getAttribute("aria-selected") === "true" ? 0 : -1; });
      tabs.forEach(function (tab, index) {
        tab.addEventListener("click", function (event) {
          if (!document.getElementById(tab.getAttribute("aria-controls"))) return; // no panel here: follow the link
          event.preventDefault();
          select(tab, true);
        });
        tab.addEventListener("keydown", function (event) {
          var next = null;
          if (event.key === "ArrowRight" || event.key === "ArrowDown") next = tabs[(index + 1) % tabs.length];
          else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = tabs[(index - 1 + tabs.length) % tabs.length];
          else if (event.key === "Home") next = tabs[0];
          else if (event.key === "End") next = tabs[tabs.length - 1];
          if (!next) return;
          event.preventDefault();
          if (document.getElementById(next.getAttribute("aria-controls"))) select(next, true);
          else next.click();
        });
      });
    });
  }

  // --- The account menu ---------------------------------------------------------------------------
  function menus() {
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      each("details[data-menu][open]", function (menu) {
        menu.open = false;
        menu.querySelector("summary").focus();
      });
    });
    document.addEventListener("click", function (event) {
      each("details[data-menu][open]", function (menu) {
        if (!menu.contains(event.target)) menu.open = false;
      });
    });
  }

  // --- Keep typed form data across a language switch -------------------------------------------------
  var KEPT = "site.kept-form-data";
  function keepFormsOnLanguageSwitch() {
    each("form[data-lang-switch]", function (switcher) {
      switcher.addEventListener("submit", function () {
        var kept = [];
        each("main form", function (form, index) {
          var values = {};
          for (var i = 0; i < form.elements.length; i++) {
            var el = form.elements[i];
            // Never secrets or one-time values, never files or hidden tokens.
            if (!el.name || el.type === "password" || el.type === "hidden" || el.type === "file" || el.name === "code") continue;
            if (el.type === "submit" || el.type === "button") continue;
            if (el.type === "checkbox" || el.type === "radio") { if (el.checked) values[el.name + "=" + el.value] = true; continue; }
            if (el.value) values[el.name] = el.value;
          }
          kept.push(values);
        });
        try { sessionStorage.setItem(KEPT, JSON.stringify({ path: location.pathname + location.search, forms: kept })); } catch (e) { /* private mode: nothing kept */ }
      });
    });
    var saved;
    try { saved = JSON.parse(sessionStorage.getItem(KEPT) || "null"); sessionStorage.removeItem(KEPT); } catch (e) { saved = null; }
    if (!saved || saved.path !== location.pathname + location.search) return;
    var forms = document.querySelectorAll("main form");
    saved.forms.forEach(function (values, index) {
      var form = forms[index];
      if (!form) return;
      Object.keys(values).forEach(function (key) {
        var parts = key.split("=");
        if (parts.length === 2) {
          each("[name='" + parts[0] + "'][value='" + parts[1] + "']", function (el) { el.checked = true; }, form);
          return;
        }
        var el = form.elements[key];
        if (el && !el.value) { el.value = values[key]; el.dispatchEvent(new Event("input", { bubbles: true })); }
      });
    });
  }

  // --- An agreement that gates the send-code button ------------------------------------------------------
  // Delegated, so a checkbox added later (or by another template) gates too.
  function gate(box) {
    var form = box.form;
    if (!form) return;
    each("button[data-sms-send]", function (button) {
      // The countdown owns "disabled" while it runs (data-counting); the gate only adds its own flag.
      if (box.checked) button.removeAttribute("data-gated");
      else button.setAttribute("data-gated", "");
      button.disabled = !box.checked || button.hasAttribute("data-counting");
    }, form);
  }
  function gates() {
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("input[type=checkbox][data-gates-send-code]")) gate(event.target);
    });
    each("input[type=checkbox][data-gates-send-code]", gate);
  }

  // --- Avatar: pick a file and it uploads, shown at once -------------------------------------------
  function avatarAutoUpload() {
    each("form[data-auto-upload]", function (form) {
      var input = form.querySelector("input[type=file]");
      var submit = form.querySelector("button[type=submit]");
      if (!input || !form.requestSubmit) return;
      if (submit) submit.hidden = true;
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        if (!file) return;
        var block = form.closest("[data-testid=avatar-block]") || document;
        var shown = block.querySelector(".avatar-image");
        if (shown && window.URL && URL.createObjectURL) {
          var preview = document.createElement("img");
          preview.className = "avatar-image preview";
          preview.alt = "";
          preview.width = 96;
          preview.height = 96;
          preview.src = URL.createObjectURL(file); // the policy allows blob: images for this
          preview.setAttribute("data-testid", "avatar-preview");
          shown.replaceWith(preview);
        }
        if (submit) { submit.hidden = false; submit.setAttribute("aria-busy", "true"); }
        form.requestSubmit(submit || undefined);
      });
    });
  }

  function start() {
    avatarAutoUpload();
    passwordToggles();
    codeCells();
    tabs();
    menus();
    keepFormsOnLanguageSwitch();
    gates();
    focusFirstError();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
