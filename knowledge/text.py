"""Language detection, sentence splitting and lexical tokenisation, shared by chunking, BM25 and answers.

Deliberately simple and dependency-free: the library holds English and Chinese, which a CJK character
ratio separates reliably; BM25 needs stable tokens more than linguistically perfect ones.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# Common English function words plus question boilerplate ("what is (are)", "do you have information about").
_STOPWORD_TEXT = """
a about above after again against all am an and any are aren't as at be because been before being below
between both but by can could did do does doing don't down during each few for from further had has have
having he her here hers herself him himself his how i if in into is isn't it it's its itself just me
more most my myself no nor not of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves information info tell know please get got need want like also may might must
shall one
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_ABBREVIATIONS = frozenset({"e.g.", "i.e.", "dr.", "mr.", "mrs.", "ms.", "vs.", "st.", "approx.", "fig."})


def detect_language(text: str) -> str:
    """'zh' when at least a fifth of the letters are CJK ideographs/kana/hangul, else 'en'."""
    letters = _LETTER.findall(text)
    if not letters:
        return "en"
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return "zh" if cjk / len(letters) >= 0.2 else "en"


def normalise(text: str) -> str:
    """NFKC, unified quotes/dashes, collapsed whitespace: what every index and comparison sees."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u00a0", " ")
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def _stem(word: str) -> str:
    """A light suffix stripper (plural/-ing/-ed/-ly) so 'treatments'~'treatment', 'diagnosed'~'diagnose'."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ness", ""), ("ing", ""), ("edly", ""), ("ed", ""),
                         ("ly", ""), ("es", "e"), ("s", "")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            stem = word[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(stem) >= 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]
            return stem.rstrip("e") if suffix in ("es", "ing", "ed") else stem
    return word.rstrip("e") if len(word) > 4 else word


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lexical tokens: stemmed lower-case English words (stopwords dropped) and CJK character bigrams."""
    text = normalise(text).lower()
    tokens: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            tokens.append(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    for word in _WORD.findall(_CJK_RUN.sub(" ", text)):
        word = word.replace("'s", "").replace("'", "")
        if not keep_stopwords and word in STOPWORDS:
            continue
        tokens.append(_stem(word))
    return tokens


_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[。！？；])")
_BULLET = re.compile(r"\s+-\s+(?=[A-Z(\"'])|^\s*[-*•]\s+", re.MULTILINE)


def split_sentences(text: str) -> list[str]:
    """Sentences, also splitting on line breaks and inline ' - ' bullets (common in the MedQuAD text)."""
    out: list[str] = []
    for line in normalise(text).split("\n"):
        line = line.strip()
        if not line:
            continue
        for piece in _BULLET.split(line):
            piece = piece.strip()
            if not piece:
                continue
            buffer = ""
            for sent in _SENT_END.split(piece):
                sent = sent.strip()
                if not sent:
                    continue
                buffer = f"{buffer} {sent}".strip() if buffer else sent
                if buffer.split()[-1].lower().lstrip("(") in _ABBREVIATIONS:
                    continue
                out.append(buffer)
                buffer = ""
            if buffer:
                out.append(buffer)
    return out
