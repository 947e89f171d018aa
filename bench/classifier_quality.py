"""How well does the emotion/emergency classifier decide, on the labelled utterances?

Reads tests/data/classifier_utterances.jsonl (Chinese, English and mixed turns: angry, urgent,
safety, neutral, polite complaints, sarcasm) and scores each with

- `baseline`: the keyword classifier as it was at `--baseline` (a git revision), loaded from
  git in this run;
- `lexicon`: today's `KeywordClassifier`;
- `sentiment model`: VADER (English) and SnowNLP (Chinese), both of which install from the
  package index with their models inside (no download), when they are installed; its emotion
  score is 10 × how negative the text is, its emergency flag the lexicon's (neither model has
  one).

Two decisions are measured: emotion >= 8 (routing escalates an angry customer) and the emergency
flag. Printed: precision and recall per decision overall, then per class (n, expected positives,
true and false positives) next to each other.

    .venv/bin/python bench/classifier_quality.py [--baseline 1e944f4]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

from omni.sessions.domain.classifier import Classification, KeywordClassifier, detect_language

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "classifier_utterances.jsonl"
CLASSIFIER_PATH = "services/omni/sessions/domain/classifier.py"
THRESHOLD = 8


@dataclasses.dataclass(frozen=True)
class Utterance:
    text: str
    kind: str
    angry: bool
    emergency: bool


def load() -> list[Utterance]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Utterance(r["text"], r["class"], r["angry"], r["emergency"]) for r in rows]


def baseline(revision: str) -> Callable[[str], Classification]:
    """The keyword classifier of `revision`, compiled from git into a throwaway module."""
    source = subprocess.run(["git", "show", f"{revision}:{CLASSIFIER_PATH}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("baseline_classifier")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{revision}:{CLASSIFIER_PATH}", "exec"), module.__dict__)
    return module.KeywordClassifier().classify  # type: ignore[no-any-return]


def sentiment_model() -> Callable[[str], Classification] | None:
    try:
        from snownlp import SnowNLP  # type: ignore[import-not-found]
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-not-found]
    except ImportError:
        return None
    vader, lexicon = SentimentIntensityAnalyzer(), KeywordClassifier()

    def classify(text: str) -> Classification:
        negative = (1 - SnowNLP(text).sentiments if detect_language(text) == "zh"
                    else (1 - vader.polarity_scores(text)["compound"]) / 2)
        found = lexicon.classify(text)
        return dataclasses.replace(found, emotion_score=round(10 * negative))

    return classify


@dataclasses.dataclass
class Tally:
    n: int = 0
    positives: int = 0
    true_pos: int = 0
    false_pos: int = 0

    def add(self, expected: bool, predicted: bool) -> None:
        self.n += 1
        self.positives += expected
        self.true_pos += expected and predicted
        self.false_pos += predicted and not expected

    def precision(self) -> str:
        flagged = self.true_pos + self.false_pos
        return f"{self.true_pos / flagged:.0%}" if flagged else "–"

    def recall(self) -> str:
        return f"{self.true_pos / self.positives:.0%}" if self.positives else "–"


def measure(classify: Callable[[str], Classification], utterances: list[Utterance]
            ) -> dict[tuple[str, str], Tally]:
    tallies: dict[tuple[str, str], Tally] = {}
    for u in utterances:
        found = classify(u.text)
        for decision, expected, predicted in (("emotion>=8", u.angry, found.emotion_score >= THRESHOLD),
                                              ("emergency", u.emergency, found.urgent)):
            for kind in ("all", u.kind):
                tallies.setdefault((decision, kind), Tally()).add(expected, predicted)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="1e944f4", help="git revision of the lexicon to compare with")
    parser.add_argument("--misses", action="store_true", help="list the utterances today's lexicon gets wrong")
    args = parser.parse_args()
    utterances = load()
    candidates: dict[str, Callable[[str], Classification]] = {
        f"baseline ({args.baseline})": baseline(args.baseline), "lexicon": KeywordClassifier().classify}
    model = sentiment_model()
    if model is not None:
        candidates["sentiment model"] = model
    print(f"{platform.system()} {platform.machine()}, CPython {platform.python_version()}, {os.cpu_count()} CPUs; "
          f"{len(utterances)} utterances, {sum(detect_language(u.text) == 'zh' for u in utterances)} Chinese"
          + ("" if model else "; sentiment model not installed (pip install vaderSentiment snownlp)"))
    results = {name: measure(classify, utterances) for name, classify in candidates.items()}
    kinds = ["all", *sorted({u.kind for u in utterances})]
    for decision in ("emotion>=8", "emergency"):
        print(f"\n{decision}: precision / recall (true positives, false positives of n, expected positives)\n")
        print("| class | n | expected | " + " | ".join(results) + " |")
        print("| --- | ---: | ---: | " + " | ".join("---:" for _ in results) + " |")
        for kind in kinds:
            first = next(iter(results.values()))[(decision, kind)]
            cells = [f"{t.precision()} / {t.recall()} ({t.true_pos}, {t.false_pos})"
                     for t in (r[(decision, kind)] for r in results.values())]
            print(f"| {kind} | {first.n} | {first.positives} | " + " | ".join(cells) + " |")
    if args.misses:
        print()
        classify = KeywordClassifier().classify
        for u in utterances:
            found = classify(u.text)
            if (found.emotion_score >= THRESHOLD) != u.angry or found.urgent != u.emergency:
                print(f"{u.kind:16} angry={u.angry!s:5} got {found.emotion_score:2}  "
                      f"emergency={u.emergency!s:5} got {found.urgent!s:5}  {u.text}")


if __name__ == "__main__":
    main()
