"""Small text helpers shared by the extractors: sentence/clause splitting and number words.

Kept free of clinical content; the clinical vocabulary lives in the lexicon data file.
"""

from __future__ import annotations

import re

CJK = re.compile(r"[\u4e00-\u9fff]")
SENTENCE_END = re.compile(r"[.!?;。！？；\n]+")
CLAUSE_END_ZH = re.compile(r"[,，.!?;。！？；\n]+")

EN_NUMBERS = {
    "zero": 0,
    "one": 1,
    "a": 1,
    "an": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "few": 3,
    "couple of": 2,
    "several": 3,
}
ZH_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
EN_NUMBER_RE = r"(?:\d+(?:\.\d+)?|zero|one|an|a|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|few|couple of|several)"
ZH_NUMBER_RE = r"(?:\d+(?:\.\d+)?|[零一二两俩三四五六七八九十百半几]+)"


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def normalize(text: str) -> str:
    """Lower-case and unify apostrophes; keeps length so offsets stay valid."""
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


def parse_en_number(token: str) -> float | None:
    token = token.strip().lower()
    try:
        return float(token)
    except ValueError:
        pass
    if token in EN_NUMBERS:
        return float(EN_NUMBERS[token])
    return None


def parse_zh_number(token: str) -> float | None:
    """Arabic or Chinese numerals up to the hundreds (三, 十五, 二十, 两, 半, 几=3)."""
    token = token.strip()
    if not token:
        return None
    try:
        return float(token)
    except ValueError:
        pass
    if token == "半":
        return 0.5
    if token == "几":
        return 3.0
    total = 0
    current = 0
    for ch in token:
        if ch in ZH_DIGITS:
            current = ZH_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "几":
            current = 3
        else:
            return None
    return float(total + current)


def parse_number(token: str) -> float | None:
    value = parse_en_number(token)
    return value if value is not None else parse_zh_number(token)


def sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    """Start and end offsets of the sentence holding ``pos``."""
    left = 0
    for m in SENTENCE_END.finditer(text, 0, pos):
        left = m.end()
    m2 = SENTENCE_END.search(text, pos)
    return left, (m2.start() if m2 else len(text))


def clause_bounds(text: str, pos: int) -> tuple[int, int]:
    """Start and end offsets of the comma-delimited clause holding ``pos``."""
    left = 0
    for m in CLAUSE_END_ZH.finditer(text, 0, pos):
        left = m.end()
    m2 = CLAUSE_END_ZH.search(text, pos)
    return left, (m2.start() if m2 else len(text))


def split_clauses(text: str) -> list[tuple[int, int]]:
    """Non-empty clause spans (offsets) split on commas and sentence ends."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in CLAUSE_END_ZH.finditer(text):
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans
