"""Rewrite the draft-summary examples in docs/wrapup-and-reports.md from the summariser's real
output on the conversations in tests/data/summary_conversations.json.

    .venv/bin/python scripts/summary_examples.py          # rewrite the doc's section
    .venv/bin/python scripts/summary_examples.py --check  # exit 1 when the doc is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from omni.sessions.domain.summary import Turn, summarise

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = ROOT / "tests" / "data" / "summary_conversations.json"
DOC = ROOT / "docs" / "wrapup-and-reports.md"
START, END = "<!-- summary-examples:start -->", "<!-- summary-examples:end -->"


def examples() -> str:
    parts = []
    for number, conversation in enumerate(json.loads(CONVERSATIONS.read_text()), start=1):
        turns = [Turn(customer=side == "customer", text=text) for side, text in conversation["turns"]]
        transcript = "\n".join(f"{side:>8}: {text}".replace("\n", "\n          ")
                               for side, text in conversation["turns"])
        draft = summarise(turns, conversation["language"]).text()
        parts.append(f"**{number}. {conversation['title']}**\n\n```text\n{transcript}\n```\n\n"
                     f"Draft:\n\n```text\n{draft}\n```\n")
    return "\n".join(parts)


def main() -> int:
    doc = DOC.read_text()
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    updated = f"{head}{START}\n{examples()}{END}{tail}"
    if "--check" in sys.argv:
        if updated != doc:
            print(f"{DOC} is stale: run scripts/summary_examples.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(updated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
