"""Update an app's zh_Hans catalogue and fill in translations, safely.

    .venv/bin/python scripts/translate.py accounts < translations.json
    .venv/bin/python scripts/translate.py root --list      # untranslated msgids

stdin is a JSON object {"English msgid": "中文", ...}; for plural entries give
the single Chinese form. The script takes a file lock, runs makemessages for
that catalogue (the app's own ``<app>/locale`` or the root ``locale``), writes
the translations, removes "fuzzy" marks it resolved, compiles, and prints the
msgids still untranslated. Several people can run it at once.
"""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "smscodes", "wallet")
BIN = ROOT / ".venv" / "bin"


def main() -> int:
    target = sys.argv[1]
    listing = "--list" in sys.argv
    if target not in (*APPS, "root"):
        sys.exit(f"unknown catalogue {target!r}: one of {', '.join((*APPS, 'root'))}")
    mapping = {} if listing or sys.stdin.isatty() else json.loads(sys.stdin.read() or "{}")
    with open(ROOT / ".make-translate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        if target == "root":
            cwd = ROOT
            ignores = [f"--ignore={name}" for name in (".venv", "tests", "bench", "scripts", *APPS)]
            cmd = [str(BIN / "python"), "manage.py", "makemessages", "-l", "zh_Hans", *ignores]
            env["DJANGO_DEBUG"] = "1"
        else:
            cwd = ROOT / target
            (cwd / "locale").mkdir(exist_ok=True)
            cmd = [str(BIN / "django-admin"), "makemessages", "-l", "zh_Hans"]
        subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
        po_path = cwd / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
        po = polib.pofile(str(po_path))
        po.metadata.update(
            {
                "Language": "zh_Hans",
                "Plural-Forms": "nplurals=1; plural=0;",
                "Content-Type": "text/plain; charset=UTF-8",
            }
        )
        for entry in po:
            if entry.msgid in mapping:
                if entry.msgid_plural:
                    entry.msgstr_plural = {0: mapping[entry.msgid]}
                else:
                    entry.msgstr = mapping[entry.msgid]
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
        po.save()
        po.save_as_mofile(str(po_path.with_suffix(".mo")))
    missing = [
        e.msgid
        for e in po
        if not e.obsolete and (not (e.msgstr or any(e.msgstr_plural.values())) or "fuzzy" in e.flags)
    ]
    for msgid in missing:
        print("UNTRANSLATED:", msgid)
    print(f"{target}: {len(po) - len(missing)} translated, {len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
