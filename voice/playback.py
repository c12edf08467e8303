"""What the patient actually heard of an assistant turn.

Audio is sent ahead of playback, so "sent" is not "heard". The far end confirms
playback through marks (Twilio `mark`, app `played` acks); the ledger maps the
confirmed sample position back to the words of each sentence, proportionally
inside a sentence (Piper gives no word timings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class _Sentence:
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[str]:
    return re.findall(r"\S+", text) if " " in text or text.isascii() else list(text)


class PlaybackLedger:
    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._sentences: list[_Sentence] = []
        self._queued = 0  # samples of synthesised audio assigned to sentences
        self.sent = 0
        self.confirmed = 0
        self._marks: dict[str, int] = {}
        self.closed = False

    def add_sentence(self, text: str, samples: int) -> None:
        self._sentences.append(_Sentence(text, self._queued, self._queued + samples))
        self._queued += samples

    def on_sent(self, samples: int) -> None:
        self.sent += samples

    def add_mark(self, name: str) -> None:
        self._marks[name] = self.sent

    def confirm(self, name: str) -> bool:
        """A mark came back: everything sent before it has been played. Ignored once closed."""
        pos = self._marks.pop(name, None)
        if pos is None or self.closed:
            return False
        self.confirmed = max(self.confirmed, pos)
        return True

    @property
    def full_text(self) -> str:
        return _join([s.text for s in self._sentences])

    def heard_text(self, played: int | None = None) -> str:
        pos = self.confirmed if played is None else played
        parts: list[str] = []
        for s in self._sentences:
            if pos >= s.end:
                parts.append(s.text)
            elif pos > s.start:
                tokens = _tokens(s.text)
                frac = (pos - s.start) / max(1, s.end - s.start)
                total = sum(len(t) for t in tokens) or 1
                kept: list[str] = []
                acc = 0
                for t in tokens:
                    acc += len(t)
                    if acc / total > frac:
                        break
                    kept.append(t)
                if kept:
                    parts.append((" " if " " in s.text else "").join(kept))
                break
            else:
                break
        return _join(parts)


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        if out and (p[:1].isascii() or out[-1:].isascii()):
            out += " "
        out += p
    return out
