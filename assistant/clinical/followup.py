"""Follow-up plans: scheduled check-ins, readings as FHIR Observations, and escalations.

Plans are YAML templates (radiotherapy, orthopaedic surgery, chronic disease, dermatology).
Thresholds and worsening trends are plain comparisons over the readings, so every escalation
names the rule, the level and the exact readings that triggered it.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from assistant.clinical.data import PROTOCOL_DIR, ProtocolDataError, load_yaml, localized
from assistant.clinical.lexicon import get_lexicon
from assistant.clinical.protocols import rank
from assistant.clinical.textutil import normalize, parse_zh_number

OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class FollowupPlan:
    id: str
    version: str
    title: dict[str, str]
    intro: dict[str, str] | None
    escalation_message: dict[str, str]
    schedule: tuple[dict[str, Any], ...]
    items: dict[str, dict[str, Any]]

    def item(self, item_id: str) -> dict[str, Any]:
        if item_id not in self.items:
            raise KeyError(f"plan {self.id} has no item {item_id!r}")
        return self.items[item_id]

    def prompt(self, item_id: str, lang: str) -> str:
        return localized(self.item(item_id)["prompt"], lang)


@dataclass
class CheckIn:
    """One scheduled contact: which items to ask, on which date."""

    plan_id: str
    plan_version: str
    day: int
    due: str
    items: list[str]

    def prompts(self, plan: FollowupPlan, lang: str) -> list[dict[str, str]]:
        return [{"item": i, "text": plan.prompt(i, lang)} for i in self.items]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Escalation:
    plan_id: str
    item: str
    rule: str
    level: str
    reason: dict[str, str]
    readings: list[dict[str, Any]] = field(default_factory=list)

    def text(self, lang: str) -> str:
        return localized(self.reason, lang)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_plan_file(path: Any) -> FollowupPlan:
    data = load_yaml(path, "followup")
    items = {i["id"]: i for i in data["items"]}
    for entry in data["schedule"]:
        for item_id in entry.get("items", []):
            if item_id not in items:
                raise ProtocolDataError(path, f"schedule names unknown item {item_id!r}")
    for item in items.values():
        if item["type"] == "choice" and not item.get("choices"):
            raise ProtocolDataError(path, f"choice item {item['id']} has no choices")
    return FollowupPlan(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        intro=data.get("intro"),
        escalation_message=data["escalation_message"],
        schedule=tuple(data["schedule"]),
        items=items,
    )


@cache
def load_plan(plan_id: str) -> FollowupPlan:
    """A packaged plan by id (radiotherapy, orthopaedic_surgery, chronic_disease, dermatology)."""
    path = PROTOCOL_DIR / "followup" / f"{plan_id}.yaml"
    if not path.is_file():
        raise KeyError(f"no follow-up plan {plan_id!r}")
    plan = load_plan_file(path)
    if plan.id != plan_id:
        raise ProtocolDataError(path, f"id {plan.id!r} does not match the file name")
    return plan


def list_plans() -> list[str]:
    return sorted(p.stem for p in (PROTOCOL_DIR / "followup").glob("*.yaml"))


def expand_plan(plan: FollowupPlan, start: date) -> list[CheckIn]:
    """Dated check-ins for a plan starting on ``start`` (day 0), merged per day, in date order."""
    by_day: dict[int, list[str]] = {}
    for entry in plan.schedule:
        days = (
            entry["days"]
            if "days" in entry
            else list(range(entry["start_day"], entry["until_day"] + 1, entry["every_days"]))
        )
        items = entry.get("items") or list(plan.items)
        for d in days:
            bucket = by_day.setdefault(d, [])
            bucket.extend(i for i in items if i not in bucket)
    return [
        CheckIn(plan.id, plan.version, d, (start + timedelta(days=d)).isoformat(), by_day[d])
        for d in sorted(by_day)
    ]


def parse_reading(plan: FollowupPlan, item_id: str, text: str) -> Any:
    """Turn the patient's reply into a value for the item, or None when it cannot be read."""
    item = plan.item(item_id)
    kind = item["type"]
    norm = normalize(text)
    if kind == "boolean":
        return get_lexicon().yes_no(text)
    if kind == "choice":
        # Most urgent matching choice wins, so "red and leaking" is read as leaking.
        hits = [c for c in item["choices"] if any(w.lower() in norm for w in c["words"])]
        if not hits:
            return None
        hits.sort(key=lambda c: rank(c.get("level", "self_care")))
        return hits[0]["code"]
    if kind == "photo":
        return None
    m = re.search(r"-?\d+(?:\.\d+)?", norm)
    value: float | None = float(m.group(0)) if m else None
    if value is None:
        m2 = re.search(r"[零一二两三四五六七八九十百]+(?:点[零一二三四五六七八九])?", text)
        if m2:
            whole, _, dec = m2.group(0).partition("点")
            w = parse_zh_number(whole)
            d = parse_zh_number(dec) if dec else 0.0
            value = None if w is None else w + (d or 0.0) / 10
    if value is None:
        return None
    lo, hi = item.get("min"), item.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return None
    if kind in ("grade", "scale"):
        return round(value)
    return value


def make_observation(
    plan: FollowupPlan,
    item_id: str,
    value: Any,
    effective: datetime,
    *,
    subject: str | None = None,
    attachment_url: str | None = None,
) -> dict[str, Any]:
    """A FHIR R4 Observation dict for one reading."""
    item = plan.item(item_id)
    if effective.tzinfo is None:
        effective = effective.replace(tzinfo=UTC)  # FHIR dateTime with a time needs a zone
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(uuid.uuid4()),
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": item.get("category", "survey")}]}],
        "code": {"coding": [dict(item["code"])], "text": item["code"]["display"]},
        "effectiveDateTime": effective.isoformat(),
        "extension": [
            {"url": "urn:careline:followup-plan", "valueString": f"{plan.id}|{plan.version}"},
            {"url": "urn:careline:followup-item", "valueString": item_id},
        ],
    }
    if subject:
        obs["subject"] = {"reference": subject}
    kind = item["type"]
    if kind in ("grade", "scale"):
        obs["valueInteger"] = int(value)
    elif kind == "number":
        unit = item.get("unit", "")
        obs["valueQuantity"] = {
            "value": float(value),
            "unit": unit,
            "system": UCUM,
            "code": item.get("ucum", unit),
        }
    elif kind == "boolean":
        obs["valueBoolean"] = bool(value)
    elif kind == "choice":
        choice = next(c for c in item["choices"] if c["code"] == value)
        obs["valueCodeableConcept"] = {
            "coding": [
                {
                    "system": f"{item['code']['system']}/{item_id}",
                    "code": choice["code"],
                    "display": choice["en"],
                }
            ],
            "text": choice["en"],
        }
    elif kind == "photo":
        obs["valueAttachment"] = {"contentType": "image/jpeg", "url": attachment_url or str(value)}
    return obs


def observation_value(obs: dict[str, Any]) -> Any:
    for key in ("valueInteger", "valueBoolean"):
        if key in obs:
            return obs[key]
    if "valueQuantity" in obs:
        return obs["valueQuantity"]["value"]
    if "valueCodeableConcept" in obs:
        return obs["valueCodeableConcept"]["coding"][0]["code"]
    return None


def _item_of(obs: dict[str, Any]) -> str | None:
    for ext in obs.get("extension", []):
        if ext.get("url") == "urn:careline:followup-item":
            return str(ext["valueString"])
    return None


def _compare(value: Any, op: str, threshold: Any) -> bool:
    if op == "eq":
        return bool(value == threshold)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return {
        "gte": value >= threshold,
        "gt": value > threshold,
        "lte": value <= threshold,
        "lt": value < threshold,
    }[op]


def evaluate_readings(plan: FollowupPlan, observations: list[dict[str, Any]]) -> list[Escalation]:
    """Escalations from thresholds (latest reading) and trends (the reading history), most urgent first."""
    by_item: dict[str, list[dict[str, Any]]] = {}
    for obs in observations:
        item_id = _item_of(obs)
        if item_id in plan.items:
            by_item.setdefault(item_id, []).append(obs)
    out: list[Escalation] = []
    for item_id, series in by_item.items():
        item = plan.items[item_id]
        series.sort(key=lambda o: o["effectiveDateTime"])
        readings = [
            {"value": observation_value(o), "effective": o["effectiveDateTime"], "id": o.get("id")}
            for o in series
        ]
        latest = readings[-1]
        # Thresholds: the first (file order = most urgent first) that the latest reading crosses.
        for i, th in enumerate(item.get("thresholds", [])):
            if _compare(latest["value"], th["op"], th["value"]):
                out.append(
                    Escalation(
                        plan.id, item_id, f"{item_id}.threshold[{i}]", th["level"], th["reason"], [latest]
                    )
                )
                break
        if item["type"] == "choice":
            choice = next((c for c in item["choices"] if c["code"] == latest["value"]), None)
            if choice and choice.get("level"):
                out.append(
                    Escalation(
                        plan.id,
                        item_id,
                        f"{item_id}.choice.{choice['code']}",
                        choice["level"],
                        choice["reason"],
                        [latest],
                    )
                )
        numeric = [
            r for r in readings if isinstance(r["value"], int | float) and not isinstance(r["value"], bool)
        ]
        for i, tr in enumerate(item.get("trends", [])):
            hit = _trend(tr, numeric)
            if hit:
                out.append(
                    Escalation(
                        plan.id, item_id, f"{item_id}.trend[{i}].{tr['kind']}", tr["level"], tr["reason"], hit
                    )
                )
    out.sort(key=lambda e: rank(e.level))
    return out


def _trend(tr: dict[str, Any], readings: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    kind = tr["kind"]
    if kind in ("rising", "falling"):
        n = tr.get("count", 3)
        if len(readings) < n:
            return None
        last = readings[-n:]
        values = [r["value"] for r in last]
        pairs = list(itertools.pairwise(values))
        ok = all(b > a for a, b in pairs) if kind == "rising" else all(b < a for a, b in pairs)
        return last if ok else None
    if len(readings) < 2:
        return None
    latest = readings[-1]
    if kind == "increase_by":
        low = min(readings[:-1], key=lambda r: r["value"])
        return [low, latest] if latest["value"] - low["value"] >= tr["by"] else None
    if kind == "percent_increase":
        base = readings[0]
        if base["value"] <= 0:
            return None
        growth = (latest["value"] - base["value"]) / base["value"] * 100
        return [base, latest] if growth >= tr["percent"] else None
    return None
