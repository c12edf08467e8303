"""End-of-turn decisions: how much trailing silence ends the patient's turn.

A fixed short silence (500 ms) answers quickly, but cuts patients off in the
middle of a dose ("I take twenty ... five milligrams"), a drug name, or an
unfinished phrase ("and my"). The adaptive policy looks at the latest partial
transcript and waits longer (1200 ms) exactly in those cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol


class EndpointPolicy(Protocol):
    """Trailing silence (ms) after which the turn ends, given the transcript so far."""

    def silence_needed_ms(self, transcript: str) -> int: ...


@dataclass(frozen=True)
class FixedSilenceEndpoint:
    silence_ms: int = 500

    def silence_needed_ms(self, transcript: str) -> int:
        return self.silence_ms


NUMBER_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "point",
        "half",
    ]
)
UNFINISHED_WORDS = frozenset(
    [
        "and",
        "or",
        "but",
        "so",
        "because",
        "with",
        "without",
        "of",
        "to",
        "for",
        "from",
        "in",
        "on",
        "at",
        "about",
        "my",
        "your",
        "his",
        "her",
        "their",
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "were",
        "am",
        "i'm",
        "im",
        "i've",
        "take",
        "taking",
        "takes",
        "took",
        "dose",
        "doses",
        "mg",
        "milligrams",
        "milligram",
        "units",
        "micrograms",
        "times",
        "per",
        "than",
        "like",
        "also",
        "then",
        "if",
        "when",
    ]
)
DRUG_SUFFIXES = (
    "pril", "olol", "statin", "sartan", "mab", "cillin", "mycin", "cycline", "azole", "prazole",
    "formin", "dipine", "oxetine", "pine", "codone", "profen", "floxacin", "gliptin", "glitazone",
    "parin", "xaban", "tidine", "sone", "lone", "triptan", "vir", "tinib", "zepam", "zolam", "amide",
    "thiazide", "semide", "oxin", "amol", "phen",
)  # fmt: skip
_ZH_UNFINISHED = tuple("和跟还有的是在因为所以然后一二两三四五六七八九十百千万点毫克片次")


@dataclass(frozen=True)
class AdaptiveEndpoint:
    """`base_ms` normally; `extended_ms` after a number, a drug-like word or an unfinished phrase."""

    base_ms: int = 500
    extended_ms: int = 1200
    drug_suffixes: tuple[str, ...] = field(default=DRUG_SUFFIXES)

    def silence_needed_ms(self, transcript: str) -> int:
        return self.extended_ms if self.should_extend(transcript) else self.base_ms

    def should_extend(self, transcript: str) -> bool:
        text = transcript.strip()
        if not text:
            return False
        if text[-1] in ".?!。？！":
            text = text[:-1].rstrip()
            if not text:
                return False
            # Whisper closes almost everything with a period; only words decide.
        if text.endswith((",", "，", "、", "-", "…", "...")):
            return True
        if text[-1].isdigit() or text.endswith(_ZH_UNFINISHED):
            return True
        words = re.findall(r"[a-z']+|\d+", text.lower())
        if not words:
            return False
        last = words[-1]
        if last in NUMBER_WORDS or last in UNFINISHED_WORDS or last.isdigit():
            return True
        return len(last) >= 5 and last.endswith(self.drug_suffixes)
