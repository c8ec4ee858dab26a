"""What every page is held to in a real browser, measured the way a person meets it.

- ``check_layout``: nothing scrolls sideways and no element is wider than the
  viewport (``getBoundingClientRect`` of every element).
- ``tap_targets``: every visible control and link is at least 44 × 44 px
  (a checkbox or radio is measured with its label, which takes the tap).
- ``run_axe``: axe-core, from the npm registry (``tests/e2e/package.json``,
  installed by ``make test`` into ``tests/e2e/node_modules``), evaluated in the
  page through DevTools, so the page's Content-Security-Policy stays on.
- ``csp_violations``: what the page's policy refused (a listener installed
  before any page script runs).
- Screenshots go to ``E2E_SCREENSHOTS_DIR`` (default ``test-artifacts/screens``,
  git-ignored; CI keeps the folder as an artifact).
"""

import json
import os
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
AXE_JS = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENS_DIR = Path(os.environ.get("E2E_SCREENSHOTS_DIR") or E2E_DIR.parent.parent / "test-artifacts" / "screens")
MIN_TAP = 44

VIEWPORTS = {"phone": {"width": 375, "height": 812}, "desk": {"width": 1280, "height": 800}}
LANGUAGES = ("zh-hans", "en")

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""

_LAYOUT_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.width > width + 0.5 || r.right > width + 0.5 || r.left < -0.5) {
      wide.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 10)};
}
"""

_TAP_JS = """
() => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=tab], [tabindex]:not([tabindex='-1'])";
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest(".visually-hidden") || el.closest("[hidden]") || el.closest("[inert]")) continue;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") continue;
    if (el.closest("details:not([open]) > :not(summary)")) continue;  // inside a closed menu
    let target = el;
    if ((el.type === "checkbox" || el.type === "radio") && el.labels && el.labels.length) target = el.labels[0];
    const r = target.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const name = (el.getAttribute("data-testid") || el.getAttribute("aria-label") || el.textContent || el.name || el.tagName).trim().slice(0, 40);
    out.push({name: `${el.tagName.toLowerCase()} "${name}"`, width: Math.round(r.width * 10) / 10, height: Math.round(r.height * 10) / 10});
  }
  return out;
}
"""


def require_axe() -> str:
    if not AXE_JS.exists():
        message = f"axe-core is not installed ({AXE_JS}); run `make test` or `npm ci --prefix tests/e2e`"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text()


def check_layout(page) -> dict:
    return page.evaluate(_LAYOUT_JS)


def tap_targets(page) -> list[dict]:
    return page.evaluate(_TAP_JS)


def run_axe(page, source: str) -> dict:
    """axe-core's results for the page: violations by impact (all rules axe runs by default)."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(source + "\n;0")
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    return {"violations": result}


def csp_violations(page) -> list[str]:
    return page.evaluate("() => window.__cspViolations || []")


def screenshot(page, name: str) -> Path:
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def record(summary: dict) -> None:
    """Append one page's figures to ``summary.jsonl`` next to the screenshots (read by people and the report)."""
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    with (SCREENS_DIR / "summary.jsonl").open("a") as f:
        f.write(json.dumps(summary, ensure_ascii=False) + "\n")
