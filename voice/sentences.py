"""Splits streamed LLM text into speakable sentences (English and Chinese punctuation).

Speech starts as soon as the first sentence is complete. A sentence ends at . ! ?
followed by whitespace (not inside "e.g." / "Dr." / "3.5"), at 。！？；, or at a
newline; a very long clause is cut at a comma so the first audio is never late. The first
sentence of a reply is cut earlier (at a comma past `first_max_chars`): the patient hears the
start of the answer while the rest is synthesised.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    ["dr", "mr", "mrs", "ms", "st", "vs", "etc", "e.g", "i.e", "approx", "mg", "ml", "no", "jr", "sr", "prof", "fig"]
)  # fmt: skip
_CJK_END = "。！？；!?"
_LATIN_END = ".!?;"


class SentenceSplitter:
    def __init__(self, max_chars: int = 160, min_chars: int = 2, first_max_chars: int = 60) -> None:
        self._buf = ""
        self._max = max_chars
        self._min = min_chars
        self._first_max = first_max_chars
        self._emitted = 0

    def feed(self, delta: str) -> list[str]:
        """Add text; return the sentences that are now complete."""
        self._buf += delta
        out: list[str] = []
        while True:
            cut = self._find_cut()
            if cut is None:
                break
            sentence, self._buf = self._buf[:cut].strip(), self._buf[cut:]
            if len(sentence) >= self._min or (sentence and not sentence.isascii()):
                out.append(sentence)
                self._emitted += 1
            elif sentence and out:
                out[-1] += " " + sentence
        return out

    def flush(self) -> list[str]:
        """The rest, at the end of the stream."""
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest and re.search(r"\w", rest) else []

    def _find_cut(self) -> int | None:
        cut = self._sentence_cut()
        if self._emitted == 0 and (cut or len(self._buf)) > self._first_max:
            for sep in ("，", ","):
                pos = self._buf.find(sep, self._first_max // 2, cut or len(self._buf))
                if 0 < pos < (cut or len(self._buf)) - 8:  # not a comma just before the full stop
                    return pos + 1
        return cut

    def _sentence_cut(self) -> int | None:
        buf = self._buf
        for i, ch in enumerate(buf):
            if ch == "\n" and buf[:i].strip():
                return i + 1
            if ch in _CJK_END and not ch.isascii():
                return i + 1
            if ch in _LATIN_END:
                if i + 1 >= len(buf):
                    return None  # wait: "3." may become "3.5", "Dr." needs context
                nxt = buf[i + 1]
                if ch == "." and nxt.isdigit():
                    continue
                if not nxt.isspace() and nxt not in "\"')”’":
                    continue
                word = re.findall(r"[\w.]+$", buf[:i])
                if ch == "." and word and word[0].lower().rstrip(".") in _ABBREVIATIONS:
                    continue
                return i + 1
        if len(buf) > self._max:
            for sep in ("，", ",", "、", " "):
                pos = buf.rfind(sep, 0, self._max)
                if pos > self._max // 3:
                    return pos + 1
            return self._max
        return None
