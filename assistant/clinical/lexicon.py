"""Maps free patient text (English and Chinese) to findings using the concept lexicon data file.

Plain pattern matching with negation, uncertainty, duration, severity, age, temperature, body
site and laterality. It is deliberately conservative: a phrase it does not know yields nothing,
and the optional embedding fallback (``embedding_fallback.py``) must clear a high bar to add one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.clinical.data import PROTOCOL_DIR, load_yaml
from assistant.clinical.findings import Attribute, Extraction, Finding
from assistant.clinical.textutil import (
    EN_NUMBER_RE,
    ZH_NUMBER_RE,
    clause_bounds,
    normalize,
    parse_en_number,
    parse_number,
    parse_zh_number,
    sentence_bounds,
)

UNIT_HOURS = {
    "minute": 1 / 60,
    "min": 1 / 60,
    "hour": 1.0,
    "hr": 1.0,
    "day": 24.0,
    "night": 24.0,
    "week": 168.0,
    "wk": 168.0,
    "month": 720.0,
    "year": 8760.0,
    "分钟": 1 / 60,
    "小时": 1.0,
    "钟头": 1.0,
    "天": 24.0,
    "日": 24.0,
    "晚": 24.0,
    "周": 168.0,
    "星期": 168.0,
    "礼拜": 168.0,
    "月": 720.0,
    "年": 8760.0,
}
EN_DURATION = [
    re.compile(
        rf"\b(?:for|over|past|last|about|around|almost|nearly)\s+(?:the\s+)?(?:past\s+|last\s+)?(?P<n>{EN_NUMBER_RE})"
        r"\s*(?P<u>minute|min|hour|hr|day|night|week|wk|month|year)s?\b"
    ),
    re.compile(
        rf"\b(?P<n>{EN_NUMBER_RE})[\s-]*(?P<u>minute|min|hour|hr|day|night|week|wk|month|year)s?\s+ago\b"
    ),
    re.compile(
        rf"\b(?P<n>{EN_NUMBER_RE})[\s-](?P<u>minute|hour|day|week|month|year)s?[\s-](?:history|duration)\b"
    ),
]
EN_RELATIVE = {
    r"\bsince (?:yesterday|last night)\b|\b(?:started|began|came on|since)\s+(?:yesterday|last night)\b": 24.0,
    r"\bsince (?:this morning|today|this afternoon|earlier today)\b|\b(?:started|began)\s+(?:this morning|today)\b": 6.0,
    r"\bsince last week\b|\bstarted last week\b": 168.0,
    r"\bjust now\b|\ba few minutes ago\b|\bminutes ago\b": 0.25,
    r"\ban hour ago\b": 1.0,
    r"\ba few days\b": 72.0,
    r"\ba couple of days\b": 48.0,
}
BARE_DURATION = re.compile(
    rf"(?P<n>{EN_NUMBER_RE}|{ZH_NUMBER_RE})\s*(?P<u>minute|min|hour|hr|day|night|week|wk|month|year)s?\b"
)
ZH_DURATION = re.compile(
    rf"(?P<n>{ZH_NUMBER_RE})\s*(?:个)?\s*(?:多)?\s*(?P<u>分钟|小时|钟头|天|日|周|星期|礼拜|月|年)(?:了|前|多|左右|以来)?"
)
ZH_RELATIVE = {
    "昨天|昨晚|昨日|昨儿": 24.0,
    "前天": 48.0,
    "今天|今早|今天早上|早上起来": 6.0,
    "上周|上星期|上个星期": 168.0,
    "刚才|刚刚": 0.25,
}
EN_SUDDEN = re.compile(
    r"\b(?:sudden(?:ly)?|all of a sudden|abrupt(?:ly)?|out of nowhere|came on fast|out of the blue)\b"
)
EN_GRADUAL = re.compile(r"\b(?:gradual(?:ly)?|slowly|progressive(?:ly)?|getting worse over)\b")
ZH_SUDDEN = re.compile(r"突然|忽然|一下子|猛地")
ZH_GRADUAL = re.compile(r"慢慢|逐渐|渐渐|越来越")
EN_SEVERITY = [
    re.compile(r"\b(?P<n>\d{1,2}(?:\.\d)?)\s*(?:/|out of)\s*10\b"),
    re.compile(r"\b(?P<n>zero|one|two|three|four|five|six|seven|eight|nine|ten) out of ten\b"),
    re.compile(
        r"\b(?:pain|severity|level|score|it's|it is|about|around)\s+(?:is\s+|of\s+|at\s+|a\s+)?(?P<n>\d{1,2})\b(?!\s*(?:minute|hour|day|week|month|year|am|pm|%|mm|cm))"
    ),
]
ZH_SEVERITY = re.compile(r"(?P<n>\d{1,2}|[零一二三四五六七八九十]{1,2})\s*分(?!钟)")
EN_AGE = [
    re.compile(r"\b(?P<n>\d{1,3})[\s-]*(?:years?|yrs?|y/o|yo)[\s-]*(?:old)?\b"),
    re.compile(r"\bi(?:'m| am)\s+(?P<n>\d{1,3})\b(?!\s*(?:weeks|days|hours|months))"),
    re.compile(r"\baged?\s+(?P<n>\d{1,3})\b"),
]
EN_AGE_MONTHS = re.compile(rf"\b(?P<n>{EN_NUMBER_RE})[\s-]*(?P<u>month|week|day)s?[\s-]*old\b")
ZH_AGE = re.compile(rf"(?P<n>{ZH_NUMBER_RE})\s*(?:周岁|岁)")
ZH_AGE_MONTHS = re.compile(rf"(?P<n>{ZH_NUMBER_RE})\s*(?:个)?\s*(?P<u>月|周|天)大")
TEMP_C = re.compile(r"(?P<n>3[4-9](?:\.\d)?|4[0-2](?:\.\d)?)\s*(?:°\s*c?|degrees?(?:\s*c(?:elsius)?)?|℃|度)")
TEMP_F = re.compile(r"(?P<n>9[5-9](?:\.\d)?|10[0-7](?:\.\d)?)\s*(?:°\s*f|f\b|degrees?\s*f(?:ahrenheit)?)")
TEMP_CONTEXT = re.compile(
    r"(?:temperature|temp|fever|thermometer|体温|发烧|发热|烧到|低烧|高烧)[^0-9\n]{0,25}?(?P<n>3[5-9](?:\.\d)?|4[0-2](?:\.\d)?)(?![0-9])"
)
TEMP_ZH = re.compile(r"(?P<n>[三四]十[一二三四五六七八九]?)(?:点(?P<d>[零一二三四五六七八九]))?度")
EN_TERMINATOR = re.compile(
    r"\b(?:but|however|although|though|except|yet|apart from|aside from|whereas|which|who)\b"
    r"|[,;]\s*(?=(?:and\s+)?(?:i|i'm|i've|he|she|they|it|we|my|his|her|there|also|now|then)\b)"
    r"|\band\s+(?=(?:i|he|she|they|we|it)\b)"
)
# A new subject and verb ends a negation's scope ("not associated with exercise she has bleeding"),
# but not an uncertainty's ("not sure if i have a fever").
EN_NEW_SUBJECT = re.compile(
    r"\b(?:i|he|she|they|we)\s+(?:have|has|had|am|is|was|feel|feels|felt|get|gets|got|reports?|complains?)\b"
)
ZH_TERMINATOR = re.compile(r"但|可是|不过|然而|只是|而且|还")


@dataclass(frozen=True)
class Concept:
    """One clinical concept: id, labels and lay synonyms in each language."""

    id: str
    kind: str
    label: dict[str, str]
    synonyms: dict[str, tuple[str, ...]]
    ask: dict[str, str] | None = None
    site: str | None = None
    implies: tuple[str, ...] = ()
    fallback: bool = True


@dataclass
class _Match:
    concept: str
    start: int
    end: int


@dataclass
class Lexicon:
    """The loaded lexicon data file and its compiled patterns."""

    version: str
    concepts: dict[str, Concept]
    sites: dict[str, dict[str, tuple[str, ...]]]
    cues: dict[str, Any]
    severity_words: dict[str, list[tuple[str, int]]]
    answer_words: dict[str, dict[str, tuple[str, ...]]]
    _patterns: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    _cue_re: dict[str, re.Pattern[str]] = field(default_factory=dict)
    _site_re: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None = None) -> Lexicon:
        data = load_yaml(path or PROTOCOL_DIR / "lexicon.yaml", "lexicon")
        concepts: dict[str, Concept] = {}
        for item in data["concepts"]:
            if item["id"] in concepts:
                raise ValueError(f"duplicate concept {item['id']}")
            concepts[item["id"]] = Concept(
                id=item["id"],
                kind=item["kind"],
                label=item["label"],
                synonyms={"en": tuple(item.get("en", [])), "zh": tuple(item.get("zh", []))},
                ask=item.get("ask"),
                site=item.get("site"),
                implies=tuple(item.get("implies", [])),
                fallback=item.get("fallback", True),
            )
        for c in concepts.values():
            for imp in c.implies:
                if imp not in concepts:
                    raise ValueError(f"concept {c.id} implies unknown concept {imp}")
        lex = cls(
            version=str(data["version"]),
            concepts=concepts,
            sites={s["id"]: {"en": tuple(s["en"]), "zh": tuple(s["zh"])} for s in data["sites"]},
            cues=data["cues"],
            severity_words={
                lang: [(w, int(v)) for v, words in data["severity_words"][lang].items() for w in words]
                for lang in ("en", "zh")
            },
            answer_words={
                lang: {k: tuple(v) for k, v in data["answer_words"][lang].items()} for lang in ("en", "zh")
            },
        )
        lex._compile()
        return lex

    def _compile(self) -> None:
        for concept in self.concepts.values():
            for syn in concept.synonyms["en"]:
                self._patterns.append((_en_pattern(syn), concept.id))
            for syn in concept.synonyms["zh"]:
                self._patterns.append((_zh_pattern(syn), concept.id))
        for name in ("negation", "pseudo", "uncertain"):
            en = "|".join(_en_body(w) for w in sorted(self.cues[name]["en"], key=len, reverse=True))
            zh = "|".join(re.escape(w) for w in sorted(self.cues[name]["zh"], key=len, reverse=True))
            self._cue_re[f"{name}_en"] = re.compile(rf"(?<![a-z])(?:{en})(?![a-z])")
            self._cue_re[f"{name}_zh"] = re.compile(zh)
        lat = self.cues["laterality"]
        for side in ("left", "right", "both"):
            en = "|".join(_en_body(w) for w in lat[side]["en"])
            self._cue_re[f"lat_{side}"] = re.compile(
                rf"(?<![a-z])(?:{en})(?![a-z])|" + "|".join(lat[side]["zh"])
            )
        self._cue_re["lat_mask"] = re.compile("|".join(_en_body(w) for w in lat["not_laterality"]))
        for site_id, words in self.sites.items():
            for w in words["en"]:
                self._site_re.append((_en_pattern(w), site_id))
            for w in words["zh"]:
                self._site_re.append((re.compile(re.escape(w)), site_id))

    # -- matching -------------------------------------------------------------------------------

    def extract(self, text: str, lang: str = "en") -> Extraction:
        """Findings and attributes in ``text``; every finding's evidence is a slice of ``text``."""
        norm = normalize(text)
        masked = self._mask_pseudo(norm)
        out = Extraction(text=text)
        for m in self._matches(norm):
            present = self._polarity(norm, masked, m.start)
            base = Finding(
                concept=m.concept,
                present=present,
                evidence=text[m.start : m.end],
                start=m.start,
                end=m.end,
                source=text,
            )
            self._decorate(base, norm)
            out.findings.append(base)
            for imp in self._implied(m.concept):
                f = Finding(**{**base.to_dict(), "concept": imp, "implied_by": m.concept})
                if present is False:
                    # "no crushing chest pain" does not deny chest pain in general.
                    continue
                out.findings.append(f)
        out.attributes = self.attributes(text)
        out.onset = self.onset(norm)
        for f in out.findings:
            f.onset = f.onset or out.onset
        return out

    def _implied(self, concept: str) -> list[str]:
        seen: list[str] = []
        stack = list(self.concepts[concept].implies)
        while stack:
            c = stack.pop()
            if c not in seen:
                seen.append(c)
                stack.extend(self.concepts[c].implies)
        return seen

    def _matches(self, norm: str) -> list[_Match]:
        found: list[_Match] = []
        for pattern, concept in self._patterns:
            for m in pattern.finditer(norm):
                if m.end() > m.start():
                    found.append(_Match(concept, m.start(), m.end()))
        found.sort(key=lambda m: (-(m.end - m.start), m.start))
        taken: list[_Match] = []
        for cand in found:
            if all(cand.end <= t.start or cand.start >= t.end for t in taken):
                taken.append(cand)
        taken.sort(key=lambda m: m.start)
        return taken

    def _mask_pseudo(self, norm: str) -> str:
        out = norm
        for key in ("pseudo_en", "pseudo_zh"):
            out = self._cue_re[key].sub(lambda m: "_" * len(m.group(0)), out)
        return out

    def _polarity(self, norm: str, masked: str, start: int) -> bool | None:
        """False when a negation cue governs the match at ``start``; None when an uncertainty cue does."""
        s_start, _ = sentence_bounds(masked, start)
        if self._governed(norm[s_start:start], "uncertain"):
            return None
        return not self._governed(masked[s_start:start], "negation")

    def clause_polarity(self, norm_clause: str) -> bool | None:
        """Polarity of a whole clause: False if it holds a negation cue, None if an uncertainty cue."""
        masked = self._mask_pseudo(norm_clause)
        if self._cue_re["uncertain_en"].search(norm_clause) or self._cue_re["uncertain_zh"].search(
            norm_clause
        ):
            return None
        return not (self._cue_re["negation_en"].search(masked) or self._cue_re["negation_zh"].search(masked))

    def _governed(self, before: str, kind: str) -> bool:
        # English: the last cue before the match, with no scope terminator in between, within 60 chars.
        last_en = None
        for m in self._cue_re[f"{kind}_en"].finditer(before):
            last_en = m
        if last_en is not None:
            gap = before[last_en.end() :]
            ended = EN_TERMINATOR.search(gap) or (kind == "negation" and EN_NEW_SUBJECT.search(gap))
            if len(gap) <= 60 and not ended:
                return True
        # Chinese: the cue must sit in the same clause, at most four characters before the match.
        last_zh = None
        for m in self._cue_re[f"{kind}_zh"].finditer(before):
            last_zh = m
        if last_zh is not None:
            gap = before[last_zh.end() :]
            if len(gap) <= 4 and not re.search(r"[，,。；;！!？?]", gap) and not ZH_TERMINATOR.search(gap):
                return True
        return False

    def _decorate(self, f: Finding, norm: str) -> None:
        c_start, c_end = clause_bounds(norm, f.start)
        clause = norm[c_start:c_end]
        rel = f.start - c_start
        concept = self.concepts[f.concept]
        f.site = concept.site or self._nearest_site(clause, rel)
        f.laterality = self._laterality(clause, rel)
        s_start, s_end = sentence_bounds(norm, f.start)
        sentence = norm[s_start:s_end]
        sev = self._severity(sentence)
        if sev is not None:
            f.severity = int(sev[0])
        dur = self._duration(sentence)
        if dur is not None:
            f.duration_hours = dur[0]

    def _nearest_site(self, clause: str, rel: int) -> str | None:
        best: tuple[int, str] | None = None
        for pattern, site in self._site_re:
            for m in pattern.finditer(clause):
                d = abs(m.start() - rel)
                if best is None or d < best[0]:
                    best = (d, site)
        return best[1] if best else None

    def _laterality(self, clause: str, rel: int) -> str | None:
        clause = self._cue_re["lat_mask"].sub(lambda m: "_" * len(m.group(0)), clause)
        clause = clause.replace("左右", "__")
        sides = set()
        for side in ("left", "right", "both"):
            if self._cue_re[f"lat_{side}"].search(clause):
                sides.add(side)
        if not sides:
            return None
        if "both" in sides or sides == {"left", "right"}:
            return "both"
        return sides.pop()

    # -- attributes -----------------------------------------------------------------------------

    def attributes(self, text: str) -> dict[str, Attribute]:
        """Severity (0-10), duration (hours), age (years), temperature (°C) stated in ``text``."""
        norm = normalize(text)
        out: dict[str, Attribute] = {}
        for name, found in (
            ("severity", self._severity(norm)),
            ("duration_hours", self._duration(norm)),
            ("age_years", self._age(norm)),
            ("temperature_c", self._temperature(norm)),
        ):
            if found is not None:
                value, (s, e) = found
                out[name] = Attribute(name, value, text[s:e], s, e, text)
        return out

    def _severity(self, norm: str) -> tuple[float, tuple[int, int]] | None:
        for pattern in EN_SEVERITY:
            m = pattern.search(norm)
            if m:
                n = parse_en_number(m.group("n"))
                if n is not None and 0 <= n <= 10:
                    return n, m.span()
        m = ZH_SEVERITY.search(norm)
        if m:
            n = parse_zh_number(m.group("n"))
            if n is not None and 0 <= n <= 10:
                return n, m.span()
        best: tuple[float, tuple[int, int]] | None = None
        for lang in ("en", "zh"):
            for word, value in sorted(self.severity_words[lang], key=lambda wv: -len(wv[0])):
                idx = _find_word(norm, word, lang)
                if idx is not None and (best is None or value > best[0]):
                    best = (float(value), (idx, idx + len(word)))
        return best

    def _duration(self, norm: str) -> tuple[float, tuple[int, int]] | None:
        for pattern in EN_DURATION:
            m = pattern.search(norm)
            if m:
                n = parse_en_number(m.group("n"))
                if n is not None:
                    return n * UNIT_HOURS[m.group("u")], m.span()
        m = ZH_DURATION.search(norm)
        if m:
            n = parse_zh_number(m.group("n"))
            if n is not None:
                unit = m.group("u")
                return n * UNIT_HOURS[unit], m.span()
        for pat, hours in EN_RELATIVE.items():
            m2 = re.search(pat, norm)
            if m2:
                return hours, m2.span()
        for pat, hours in ZH_RELATIVE.items():
            m2 = re.search(pat, norm)
            if m2:
                return hours, m2.span()
        return None

    def duration_answer(self, text: str) -> float | None:
        """A reply to "how long?": also accepts a bare "10 minutes" / "3天" without for/ago."""
        norm = normalize(text)
        found = self._duration(norm)
        if found is not None:
            return found[0]
        m = BARE_DURATION.search(norm)
        if m:
            n = parse_number(m.group("n"))
            if n is not None:
                return n * UNIT_HOURS[m.group("u")]
        return None

    def _age(self, norm: str) -> tuple[float, tuple[int, int]] | None:
        m = EN_AGE_MONTHS.search(norm) or ZH_AGE_MONTHS.search(norm)
        if m:
            n = parse_number(m.group("n"))
            if n is not None:
                per_year = {"month": 12, "week": 52, "day": 365, "月": 12, "周": 52, "天": 365}[m.group("u")]
                return n / per_year, m.span()
        for pattern in EN_AGE:
            m = pattern.search(norm)
            if m:
                n = parse_en_number(m.group("n"))
                if n is not None and 0 <= n <= 120:
                    return n, m.span()
        m = ZH_AGE.search(norm)
        if m:
            n = parse_zh_number(m.group("n"))
            if n is not None and 0 <= n <= 120:
                return n, m.span()
        return None

    def _temperature(self, norm: str) -> tuple[float, tuple[int, int]] | None:
        m = TEMP_C.search(norm)
        if m:
            return float(m.group("n")), m.span()
        m = TEMP_F.search(norm)
        if m:
            return round((float(m.group("n")) - 32) * 5 / 9, 1), m.span()
        m = TEMP_CONTEXT.search(norm)
        if m:
            return float(m.group("n")), m.span()
        m = TEMP_ZH.search(norm)
        if m:
            whole = parse_zh_number(m.group("n")) or 0.0
            dec = parse_zh_number(m.group("d")) if m.group("d") else 0.0
            return whole + (dec or 0.0) / 10, m.span()
        return None

    def onset(self, norm: str) -> str | None:
        if EN_SUDDEN.search(norm) or ZH_SUDDEN.search(norm):
            return "sudden"
        if EN_GRADUAL.search(norm) or ZH_GRADUAL.search(norm):
            return "gradual"
        return None

    # -- answers --------------------------------------------------------------------------------

    def yes_no(self, text: str) -> bool | None:
        """Parse a reply to a yes/no question: True, False, or None (unknown or unclear)."""
        norm = normalize(text).strip()
        if not norm:
            return None
        hits: list[tuple[int, int, str]] = []
        for kind in ("unknown", "no", "yes"):
            for lang in ("en", "zh"):
                for w in self.answer_words[lang][kind]:
                    for start in _find_all(norm, w, lang):
                        hits.append((start, start + len(w), kind))
        unknown = [h for h in hits if h[2] == "unknown"]
        if unknown:
            # "I don't know" / "不知道" contain "no"/"不": an unknown phrase wins over what it covers.
            hits = unknown + [h for h in hits if all(h[1] <= u[0] or h[0] >= u[1] for u in unknown)]
        if not hits:
            return None
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        first = hits[0][2]
        return None if first == "unknown" else first == "yes"


def _en_body(phrase: str) -> str:
    if phrase.startswith("re:"):
        return phrase[3:]
    words = normalize(phrase).split()
    return r"\s+".join(re.escape(w) for w in words)


def _en_pattern(phrase: str) -> re.Pattern[str]:
    if phrase.startswith("re:"):
        return re.compile(rf"(?<![a-z0-9])(?:{phrase[3:]})(?![a-z0-9])")
    return re.compile(rf"(?<![a-z0-9]){_en_body(phrase)}(?:s|es)?(?![a-z0-9])")


def _zh_pattern(phrase: str) -> re.Pattern[str]:
    if phrase.startswith("re:"):
        return re.compile(phrase[3:])
    return re.compile(re.escape(phrase))


def _find_all(norm: str, word: str, lang: str) -> list[int]:
    if lang == "zh" or re.search(r"[\u4e00-\u9fff]", word):
        return [m.start() for m in re.finditer(re.escape(word), norm)]
    return [m.start() for m in re.finditer(rf"(?<![a-z0-9']){_en_body(word)}(?![a-z0-9'])", norm)]


def _find_word(norm: str, word: str, lang: str) -> int | None:
    if lang == "zh" or re.search(r"[\u4e00-\u9fff]", word):
        i = norm.find(word)
        return i if i >= 0 else None
    m = re.search(rf"(?<![a-z0-9]){_en_body(word)}(?![a-z0-9])", norm)
    return m.start() if m else None


@lru_cache(maxsize=1)
def get_lexicon() -> Lexicon:
    """The packaged lexicon, loaded and validated once per process."""
    return Lexicon.load()
