"""Item 12 of the pages issue: one voice in Chinese, in every catalogue (pages, API messages, admin).

你, never 您; a message that is a sentence in English (ends with ".") ends
with a full-width 。 (or ！/？) in Chinese, so messages read the same
wherever they appear.
"""

from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(
    [ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"]
    + [ROOT / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po" for app in ("accounts", "smscodes", "wallet")]
)


def _translations(path: Path):
    for entry in polib.pofile(str(path)):
        if entry.obsolete:
            continue
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            if text:
                yield entry.msgid, text


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT).parts[0]))
def test_chinese_says_ni_never_nin(path):
    assert [msgid for msgid, text in _translations(path) if "您" in text] == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT).parts[0]))
def test_a_sentence_ends_with_a_full_width_stop(path):
    unfinished = [
        (msgid, text)
        for msgid, text in _translations(path)
        if msgid.rstrip().endswith(".") and not text.rstrip().endswith(("。", "！", "？", "…", "."))
    ]
    assert unfinished == []
