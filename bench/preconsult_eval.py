"""Pre-consultation evaluation with a simulated patient: `python -m bench.preconsult_eval [--limit N]`.

Vignettes: Avey vignettes (Hammoud et al., "Evaluating the Avey AI symptom checker", JMIR AI
2024), MIT licence, via medaks/symptomcheck-bench; file /work/shared/data/vignettes/avey_dev.jsonl.

The simulated patient opens with the vignette's chief complaints and answers each question only
from the vignette: "Yes." plus the presentation sentence that mentions a finding, "No." for an
absent finding, the matching presentation sentences for history slots, the past history for the
history question, otherwise "I don't know". The vignette's findings are what the lexicon reads
from its presentation (positives) and absent findings (negatives) when given the whole text.

Figures: recall (share of the vignette's findings that reach the nurse summary) and findings in
the summary that the patient never said (must be 0): a summary finding counts as never said if its
evidence is not in the patient's words or its concept/polarity is not supported by the vignette.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from assistant.clinical.lexicon import get_lexicon
from assistant.clinical.preconsult import PreconsultSession, preconsult_config
from assistant.clinical.textutil import SENTENCE_END, normalize

DEFAULT_VIGNETTES = Path("/work/shared/data/vignettes/avey_dev.jsonl")
ATTRIBUTION = "Avey vignettes: Hammoud et al., JMIR AI 2024 (MIT licence), via medaks/symptomcheck-bench"
DONT_KNOW = "I don't know."


def sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in SENTENCE_END.finditer(text):
        if text[start : m.start()].strip():
            out.append(text[start : m.start()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


class SimulatedPatient:
    """Answers only from one vignette."""

    def __init__(self, vignette: dict[str, Any]) -> None:
        self.v = vignette
        lex = get_lexicon()
        self.presentation = vignette.get("presentation") or ""
        self.absent = vignette.get("absent_findings") or ""
        self.pos_sentences = sentences(self.presentation)
        self.neg_items = [s.strip() for s in re.split(r"[,.]", self.absent) if s.strip()]
        opening_text = self.opening()
        kinds = ("symptom", "sign", "event", "context")
        self.gold_pos: set[str] = set()
        self.gold_pos_all: set[str] = set()
        self.gold_neg: set[str] = set()
        self.gold_neg_all: set[str] = set()
        history = vignette.get("physical_history") or ""
        for text in (opening_text, self.presentation, self.absent, history):
            for f in lex.extract(text).findings:
                if f.present is None or lex.concepts[f.concept].kind not in kinds:
                    continue
                everything = self.gold_pos_all if f.present else self.gold_neg_all
                direct = self.gold_pos if f.present else self.gold_neg
                everything.add(f.concept)
                if not f.implied_by:
                    direct.add(f.concept)
        # What the vignette supports at all (a concept can be both affirmed and denied in different
        # places, e.g. "rheumatic fever" in the history and "No fever" now).
        self.supported = {(c, True) for c in self.gold_pos_all} | {(c, False) for c in self.gold_neg_all}
        self.gold_neg -= self.gold_pos_all
        self.gold_neg_all -= self.gold_pos_all
        self.said: list[str] = []
        self._told: set[str] = set()

    def opening(self) -> str:
        cc = (self.v.get("chief_complaints") or "").strip().rstrip(".")
        return f"I have {cc.lower()}." if cc else "I don't feel well."

    def say(self, text: str) -> str:
        self.said.append(text)
        return text

    def _sentence_for(self, concept: str) -> str | None:
        lex = get_lexicon()
        for s in self.pos_sentences:
            if any(f.concept == concept and f.present for f in lex.extract(s).findings):
                return s
        return None

    def answer(self, qid: str) -> str:
        kind, _, target = qid.partition(":")
        if kind == "c":
            if target in self.gold_pos_all:
                s = self._sentence_for(target)
                return self.say(f"Yes. {s}" if s else "Yes.")
            if target in self.gold_neg_all:
                item = next(
                    (
                        i
                        for i in self.neg_items
                        if target in {f.concept for f in get_lexicon().extract(i).findings}
                    ),
                    None,
                )
                return self.say(f"No. {item}" if item else "No.")
            return self.say(DONT_KNOW)
        if kind == "a":
            if target == "age_years":
                m = re.search(r"\d+\s*(?:year|month|week|day)s?", self.v.get("demographics") or "")
                return self.say(m.group(0) if m else DONT_KNOW)
            attrs = get_lexicon().attributes(self.presentation)
            if target in attrs:
                return self.say(
                    next((s for s in self.pos_sentences if attrs[target].evidence in s), DONT_KNOW)
                )
            return self.say(DONT_KNOW)
        if kind == "s":
            return self.say(self._slot(target))
        return self.say(DONT_KNOW)

    def _slot(self, slot: str) -> str:
        history = (self.v.get("physical_history") or "").strip()
        if slot == "past_history":
            return history if history and history != "-" else "No."
        if slot == "medications":
            hits = [
                s for s in sentences(history) if re.search(r"medicat|\bon\b|taking|tablet|insulin", s, re.I)
            ]
            return ". ".join(hits) + "." if hits else DONT_KNOW
        if slot == "allergies":
            item = next((i for i in self.neg_items if "allerg" in i.lower()), None)
            return item or DONT_KNOW
        if slot.startswith("ros_"):
            group = next(g for g in preconsult_config()["review_of_systems"]["groups"] if g["id"] == slot)
            lex = get_lexicon()
            parts = []
            for c in group["concepts"]:
                if c in self.gold_pos_all:
                    s = self._sentence_for(c)
                    if s and s not in parts:
                        parts.append(s)
            for item in self.neg_items:
                if any(
                    f.concept in group["concepts"] and f.present is False for f in lex.extract(item).findings
                ):
                    parts.append(item)
            return ". ".join(parts) + "." if parts else DONT_KNOW
        if slot == "associated":
            rest = [s for s in self.pos_sentences if s not in self._told]
            self._told.update(rest)
            return ". ".join(rest) + "." if rest else "No."
        cfg = next(s for s in preconsult_config()["slots"] if s["id"] == slot)
        hits = [s for s in self.pos_sentences if any(p.search(normalize(s)) for p in cfg["_re"])]
        return ". ".join(hits) + "." if hits else DONT_KNOW


def run_vignette(v: dict[str, Any], max_turns: int = 60) -> dict[str, Any]:
    patient = SimulatedPatient(v)
    session = PreconsultSession(lang="en")
    session.observe(patient.say(patient.opening()), "en")
    turns = 0
    for _ in range(max_turns):
        q = session.next_question()
        if q is None:
            break
        session.answer(q.id, patient.answer(q.id))
        turns += 1
    summary = session.summary()
    got_pos = {i["concept"] for i in summary.pertinent_positives}
    got_neg = {i["concept"] for i in summary.pertinent_negatives}
    gold = {(c, True) for c in patient.gold_pos} | {(c, False) for c in patient.gold_neg}
    got = {(c, True) for c in got_pos} | {(c, False) for c in got_neg}
    supported = patient.supported
    never_said = []
    for item, polarity in [(i, True) for i in summary.pertinent_positives] + [
        (i, False) for i in summary.pertinent_negatives
    ]:
        in_words = any(item["evidence"] in u for u in patient.said)
        if not in_words or (item["concept"], polarity) not in supported:
            never_said.append({"concept": item["concept"], "present": polarity, "evidence": item["evidence"]})
    return {
        "id": v.get("id"),
        "gold": len(gold),
        "gold_pos": len(patient.gold_pos),
        "gold_neg": len(patient.gold_neg),
        "hit": len(gold & got),
        "hit_pos": len({(c, True) for c in patient.gold_pos} & got),
        "hit_neg": len({(c, False) for c in patient.gold_neg} & got),
        "never_said": never_said,
        "questions": turns,
        "level": summary.triage_level,
        "neg_items": len(patient.neg_items),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vignettes", type=Path, default=DEFAULT_VIGNETTES)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--show", type=int, default=3, help="list up to N never-said findings")
    args = parser.parse_args(argv)
    rows = []
    with args.vignettes.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    if args.limit:
        rows = rows[: args.limit]
    results = [run_vignette(v) for v in rows]
    gold = sum(r["gold"] for r in results)
    hit = sum(r["hit"] for r in results)
    gp, hp = sum(r["gold_pos"] for r in results), sum(r["hit_pos"] for r in results)
    gn, hn = sum(r["gold_neg"] for r in results), sum(r["hit_neg"] for r in results)
    never = [n for r in results for n in r["never_said"]]
    per_case = [r["hit"] / r["gold"] for r in results if r["gold"]]
    print(f"Pre-consultation evaluation on {len(results)} vignettes")
    print(f"  data: {ATTRIBUTION}")
    print(f"  vignette findings read by the lexicon: {gold} ({gp} positive, {gn} negative)")
    print(f"  recall (findings that reach the summary)  {hit / max(gold, 1):.1%}")
    print(f"    positives {hp / max(gp, 1):.1%}, negatives {hn / max(gn, 1):.1%}")
    print(f"    per-vignette median {statistics.median(per_case) if per_case else 0:.1%}")
    print(f"  findings in the summary never said by the patient: {len(never)}")
    print(
        f"  questions per vignette: median {statistics.median(r['questions'] for r in results)}, max {max(r['questions'] for r in results)}"
    )
    for n in never[: args.show]:
        print(f"    never said: {n}")
    return 0 if not never else 1


if __name__ == "__main__":
    sys.exit(main())
