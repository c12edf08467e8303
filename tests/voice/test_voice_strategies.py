"""Sentence splitting, endpointing, barge-in rules, the playback ledger and echo scoring."""

from __future__ import annotations

import numpy as np

from voice.bargein import BargeInContext, BargeInPolicy, EchoReference, Verdict
from voice.endpointing import AdaptiveEndpoint, FixedSilenceEndpoint
from voice.playback import PlaybackLedger
from voice.sentences import SentenceSplitter


def split_stream(deltas: list[str]) -> list[str]:
    s = SentenceSplitter()
    out: list[str] = []
    for d in deltas:
        out += s.feed(d)
    return out + s.flush()


def test_sentence_splitter_english_streamed() -> None:
    deltas = ["Hel", "lo. Take 2.5 mg", " with Dr. Smith's", " advice! Is that ok? ", "Bye"]
    assert split_stream(deltas) == ["Hello.", "Take 2.5 mg with Dr. Smith's advice!", "Is that ok?", "Bye"]


def test_sentence_splitter_emits_first_sentence_before_the_rest() -> None:
    s = SentenceSplitter()
    assert s.feed("Sure. ") == ["Sure."]
    assert s.feed("Let me check") == []


def test_sentence_splitter_chinese() -> None:
    assert split_stream(["你好。", "请问哪里不舒服？我", "可以帮你；谢谢"]) == [
        "你好。",
        "请问哪里不舒服？",
        "我可以帮你；",
        "谢谢",
    ]


def test_sentence_splitter_cuts_very_long_clauses() -> None:
    out = split_stream(["word, " * 60])
    assert len(out) > 1 and all(len(x) <= 160 for x in out)


def test_adaptive_endpoint_extends_after_numbers_drugs_and_unfinished_phrases() -> None:
    p = AdaptiveEndpoint(base_ms=500, extended_ms=1200)
    assert p.silence_needed_ms("I have a headache.") == 500
    assert p.silence_needed_ms("I take 20") == 1200
    assert p.silence_needed_ms("My dose is twenty.") == 1200
    assert p.silence_needed_ms("I'm on lisinopril") == 1200
    assert p.silence_needed_ms("It started after I took metformin.") == 1200
    assert p.silence_needed_ms("I have pain in my") == 1200
    assert p.silence_needed_ms("and") == 1200
    assert p.silence_needed_ms("我每天吃两") == 1200
    assert p.silence_needed_ms("我头疼。") == 500
    assert p.silence_needed_ms("") == 500
    assert FixedSilenceEndpoint(700).silence_needed_ms("I take 20") == 700


def ctx(text: str | None, speech_ms: float = 400, echo: float = 0.0, speaking: str = "") -> BargeInContext:
    return BargeInContext(speech_ms=speech_ms, transcript=text, echo_score=echo, speaking_text=speaking)


def test_barge_in_rules() -> None:
    policy = BargeInPolicy()
    assert policy.decide(ctx("Stop.")).verdict is Verdict.INTERRUPT
    assert policy.decide(ctx("Wait a moment")).verdict is Verdict.INTERRUPT
    assert policy.decide(ctx("等一下")).verdict is Verdict.INTERRUPT
    assert policy.decide(ctx("Stop.", speech_ms=100)).verdict is Verdict.INTERRUPT  # at once
    assert policy.decide(ctx("Mhm.")).verdict is Verdict.IGNORE
    assert policy.decide(ctx("M-H-M.")).verdict is Verdict.IGNORE  # how tiny.en spells Piper's "Mhm"
    assert policy.decide(ctx("Yeah, okay.")).verdict is Verdict.IGNORE
    assert policy.decide(ctx("嗯")).verdict is Verdict.IGNORE
    assert policy.decide(ctx("对")).verdict is Verdict.IGNORE
    assert policy.decide(ctx("I have a question about my pills", speech_ms=800)).verdict is Verdict.INTERRUPT
    # short unfinished speech: tiny.en guesses, so words alone wait for more audio or the end of speech
    assert policy.decide(ctx("And make sure", speech_ms=300)).verdict is Verdict.UNDECIDED
    complete = BargeInContext(
        speech_ms=300, transcript="No.", echo_score=0.0, speaking_text="", complete=True
    )
    assert policy.decide(complete).verdict is Verdict.INTERRUPT
    assert policy.decide(ctx("I have a question", speech_ms=150)).verdict is Verdict.UNDECIDED
    assert policy.decide(ctx(None)).verdict is Verdict.UNDECIDED
    assert (
        policy.decide(ctx(None, speech_ms=1500)).verdict is Verdict.UNDECIDED
    )  # audio alone: transcribe first
    assert policy.decide(ctx("", speech_ms=1500)).verdict is Verdict.INTERRUPT  # long unintelligible speech
    assert policy.decide(ctx("anything", echo=0.9)).verdict is Verdict.IGNORE
    spoken = "Please take the tablet with food twice a day."
    assert policy.decide(ctx("take the tablet with food", speaking=spoken)).verdict is Verdict.IGNORE


def test_playback_ledger_keeps_only_confirmed_words() -> None:
    ledger = PlaybackLedger(16000)
    ledger.add_sentence("Hello there.", 16000)
    ledger.add_sentence("Take one tablet twice a day.", 32000)
    ledger.on_sent(16000)
    ledger.add_mark("m1")
    ledger.on_sent(16000)
    ledger.add_mark("m2")
    assert ledger.heard_text() == ""
    assert ledger.confirm("m1")
    assert ledger.heard_text() == "Hello there."
    assert ledger.confirm("m2")
    assert ledger.heard_text() == "Hello there. Take one"
    ledger.closed = True
    ledger.on_sent(16000)
    ledger.add_mark("m3")
    assert not ledger.confirm("m3")  # after the interruption, late confirmations do not count
    assert ledger.heard_text() == "Hello there. Take one"
    assert ledger.full_text == "Hello there. Take one tablet twice a day."


def test_echo_reference_recognises_delayed_attenuated_playback() -> None:
    rng = np.random.default_rng(1)
    played = (0.3 * rng.standard_normal(16000 * 2)).astype(np.float32)
    ref = EchoReference()
    from voice.audio import resample

    ref.add(resample(played, 16000, 8000))
    echo = 0.3 * played[8000:16000] + 0.01 * rng.standard_normal(8000).astype(np.float32)
    other = (0.3 * rng.standard_normal(8000)).astype(np.float32)
    assert ref.similarity(echo) > 0.8
    assert ref.similarity(other) < 0.3


def test_a_long_first_sentence_is_spoken_from_its_first_clause() -> None:
    splitter = SentenceSplitter()
    text = (
        "Diabetes is a disease in which your blood glucose, or blood sugar, levels are too high. It lasts. "
    )
    assert splitter.feed(text) == [
        "Diabetes is a disease in which your blood glucose,",
        "or blood sugar, levels are too high.",
        "It lasts.",
    ]
    short = SentenceSplitter()
    assert short.feed("Okay, I have noted that. Anything else? ") == [
        "Okay, I have noted that.",
        "Anything else?",
    ]
