"""Triage development-set evaluation: `python -m bench.triage_eval [--cases FILE] [--limit N]`.

Each written case is run through a TriageSession: the text is observed, follow-up questions are
answered from the case's script (by concept or attribute), otherwise "no" for yes/no questions
and "not sure" for attributes. Prints exact and 3-level accuracy, under-triage of emergencies
(must be 0), over-triage, department accuracy and how many questions were asked.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from assistant.clinical.protocols import rank
from assistant.clinical.triage import TriageDecision, TriageSession

DEFAULT_CASES = Path(__file__).resolve().parent / "data" / "triage_cases.yaml"
THREE = {
    "emergency_ambulance": "emergent",
    "emergency": "emergent",
    "consultation_24": "non-emergent",
    "consultation": "non-emergent",
    "self_care": "self-care",
}


def load_cases(path: Path = DEFAULT_CASES) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["cases"])


def run_case(case: dict[str, Any], max_questions: int = 40) -> tuple[TriageDecision, list[str]]:
    session = TriageSession(lang=case.get("lang", "en"))
    session.observe(case["text"], case.get("lang", "en"))
    script = {str(k): str(v) for k, v in (case.get("answers") or {}).items()}
    asked: list[str] = []
    for _ in range(max_questions):
        q = session.next_question()
        if q is None:
            break
        asked.append(q.target)
        default = "no" if q.kind == "yes_no" else "not sure"
        session.answer(q.id, script.get(q.target, script.get(q.id, default)))
    return session.decision(), asked


def evaluate(cases: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for case in cases:
        decision, asked = run_case(case)
        rows.append({"case": case, "decision": decision, "asked": asked})
    n = len(rows)
    exact = sum(r["decision"].level == r["case"]["level"] for r in rows)
    three = sum(THREE[r["decision"].level] == THREE[r["case"]["level"]] for r in rows)
    emergent = [r for r in rows if THREE[r["case"]["level"]] == "emergent"]
    under_emergent = [r for r in emergent if THREE[r["decision"].level] != "emergent"]
    under = [r for r in rows if rank(r["decision"].level) > rank(r["case"]["level"])]
    over = [r for r in rows if rank(r["decision"].level) < rank(r["case"]["level"])]
    dept = sum(r["decision"].department == r["case"]["department"] for r in rows)
    return {
        "n": n,
        "exact_level_accuracy": exact / n,
        "three_level_accuracy": three / n,
        "emergencies": len(emergent),
        "under_triage_of_emergencies": len(under_emergent),
        "under_triage_rate": len(under) / n,
        "over_triage_rate": len(over) / n,
        "department_accuracy": dept / n,
        "questions_median": statistics.median(len(r["asked"]) for r in rows),
        "questions_p95": sorted(len(r["asked"]) for r in rows)[max(0, int(0.95 * n) - 1)],
        "by_lang": Counter(r["case"].get("lang", "en") for r in rows),
        "by_level": Counter(r["case"]["level"] for r in rows),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases (smoke runs)")
    parser.add_argument("--quiet", action="store_true", help="do not list the mismatches")
    args = parser.parse_args(argv)
    cases = load_cases(args.cases)
    if args.limit:
        cases = cases[: args.limit]
    m = evaluate(cases)
    print(f"Triage evaluation on {m['n']} written cases ({dict(m['by_lang'])}; levels {dict(m['by_level'])})")
    print(f"  exact-level accuracy        {m['exact_level_accuracy']:.1%}")
    print(f"  3-level accuracy            {m['three_level_accuracy']:.1%}")
    print(f"  under-triage of emergencies {m['under_triage_of_emergencies']} of {m['emergencies']}")
    print(f"  under-triage rate (any)     {m['under_triage_rate']:.1%}")
    print(f"  over-triage rate            {m['over_triage_rate']:.1%}")
    print(f"  department accuracy         {m['department_accuracy']:.1%}")
    print(f"  questions asked: median {m['questions_median']}, p95 {m['questions_p95']}")
    if not args.quiet:
        for r in m["rows"]:
            c, d = r["case"], r["decision"]
            if d.level != c["level"] or d.department != c["department"]:
                print(
                    f"  - {c['id']}: expected {c['level']}/{c['department']}, got {d.level}/{d.department}"
                    f" via {d.reasons[0].protocol}:{d.reasons[0].rule_id}  [{c['text']}]"
                )
    return 0 if m["under_triage_of_emergencies"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
