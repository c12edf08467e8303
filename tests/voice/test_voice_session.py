"""Scripted timelines through the whole VoiceSession with the real models (manual clock)."""

from __future__ import annotations

import re

import numpy as np
from voice_testkit import silence

from voice.endpointing import FixedSilenceEndpoint
from voice.session import VoiceConfig

REPLY = ["Okay. ", "I understand", " that you have", " a headache. ", "How long has it", " lasted?"]


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


async def test_partial_and_final_transcripts_on_jfk(make_harness, jfk) -> None:
    # JFK pauses over a second between phrases: a patient endpointer (1.5 s) keeps one turn.
    config = VoiceConfig(partial_every_ms=2000)  # fewer partials: keeps the test quick on 2 cores
    h, responder = make_harness(REPLY, endpointing=FixedSilenceEndpoint(1500), config=config)
    await h.play(np.concatenate([silence(0.5), jfk, silence(2.0)]))
    partials = h.events("partial_transcript")
    finals = h.events("final_transcript")
    assert len(partials) >= 3
    assert len(finals) == 1
    assert "ask not what your country can do for you" in words(finals[0]["text"])
    assert words(partials[0]["text"]) != words(finals[0]["text"])
    assert responder.calls and "ask not" in words(responder.calls[0][0])
    await h.session.close()


async def test_default_endpointing_splits_jfk_at_long_pauses_and_next_phrase_barges_in(
    make_harness, jfk
) -> None:
    h, _ = make_harness(REPLY, config=VoiceConfig(partial_every_ms=3000))
    await h.play(np.concatenate([silence(0.5), jfk, silence(1.5)]))
    finals = [words(e["text"]) for e in h.events("final_transcript")]
    assert len(finals) >= 2
    assert "fellow americans" in finals[0]
    assert any("what your country can do for you" in f for f in finals[1:])
    # the second phrase began while the assistant answered the first: it interrupted it
    interrupted = h.events("interrupted")
    assert interrupted and interrupted[0]["turn"] == 1
    assert h.session.turns[0].interrupted
    await h.session.close()


LONG_REPLY = [
    "I am sorry to hear that. ",
    "Headaches can have many causes, ",
    "such as stress, poor sleep, or not drinking enough water. ",
    "Please tell me when it started, ",
    "how strong the pain is on a scale from one to ten, ",
    "and whether anything makes it better or worse. ",
    "If you also have a stiff neck or a high fever, ",
    "please call your doctor right away.",
]


async def start_reply(h, say) -> None:
    await h.play(np.concatenate([silence(0.3), say("I have a headache."), silence(0.9)]))
    assert h.events("final_transcript"), "the patient's turn should have ended"


async def test_speech_starts_after_the_first_sentence(make_harness, say) -> None:
    h, responder = make_harness(["Okay. ", "Let me look at", " your medication list."], delay_s=2.0)
    await start_reply(h, say)
    await h.wait(4.5)
    assert len(responder.yield_times) == 3
    first_audio = h.sink.frames[0][0]
    assert first_audio < responder.yield_times[1]  # before the second delta even existed
    latency = h.events("latency")[0]
    for key in (
        "endpoint_ms",
        "final_transcript_ms",
        "first_token_ms",
        "first_tts_audio_ms",
        "first_audio_sent_ms",
    ):
        assert latency[key] is not None
    assert latency["endpoint_ms"] <= latency["first_token_ms"] <= latency["first_audio_sent_ms"]
    await h.session.close()


async def test_pacing_sends_20ms_frames_close_to_real_time(make_harness, say) -> None:
    h, _ = make_harness(LONG_REPLY[:3], delay_s=0.01)
    await start_reply(h, say)
    await h.wait_for_event("assistant_done", 20.0)
    assert h.events("assistant_done")
    frames = h.sink.frames
    assert len(frames) > 100
    assert {len(f) for _, f in frames} == {320}
    start = frames[0][0]
    lead = h.session.config.lead_ms / 1000
    sent = 0.0
    for t, f in frames:
        assert sent <= (t - start) + lead + 0.02 + 1e-9  # never more than the lead ahead
        sent += len(f) / 16000
    assert frames[-1][0] - start >= sent - lead - 0.05  # and not sent all at once
    marks = [name for _, name in h.sink.marks]
    assert len(marks) >= 3 and len(set(marks)) == len(marks)
    await h.session.close()


async def test_stop_interrupts_and_keeps_only_heard_words(make_harness, say) -> None:
    h, responder = make_harness(LONG_REPLY, delay_s=0.6)  # the LLM is still streaming at "stop"
    await start_reply(h, say)
    await h.wait(1.5)
    assert not h.events("interrupted")
    frames_before = len(h.sink.frames)
    await h.play(np.concatenate([say("Stop."), silence(0.2)]))
    interrupted = h.events("interrupted")
    assert len(interrupted) == 1
    event = interrupted[0]
    assert "stop" in event["reason"]
    assert h.sink.clears, "the far end must be told to clear its buffer"
    assert responder.closed_early, "the LLM stream must be cancelled"
    turn = h.session.turns[0]
    assert turn.interrupted
    assert turn.text_heard and turn.text_heard == event["text_heard"]
    assert len(turn.text_heard) < len(" ".join(LONG_REPLY))
    assert words(" ".join(LONG_REPLY)).startswith(words(turn.text_heard))
    assert len(responder.calls) == 1
    clear_time = h.sink.clears[0]
    sent_at_clear = len(h.sink.frames)
    await h.wait(1.5)
    # the "stop" itself is the patient's next turn; nothing of the old reply is sent after the clear
    finals_after = h.events("final_transcript")[1:]
    assert finals_after and "stop" in words(finals_after[0]["text"])
    assert len(responder.calls) == 2
    assert sent_at_clear >= frames_before
    new_reply_start = h.events("latency")[1]
    assert all(
        t >= clear_time + new_reply_start["endpoint_ms"] / 1000 - 0.05
        for t, _ in h.sink.frames[sent_at_clear:]
    )
    await h.session.close()


async def test_backchannel_does_not_interrupt(make_harness, say) -> None:
    h, _ = make_harness(LONG_REPLY[:4], delay_s=0.05)
    await start_reply(h, say)
    await h.wait(1.0)
    await h.play(np.concatenate([say("Mhm."), silence(0.5)]))
    await h.wait(1.0)
    await h.play(np.concatenate([say("Yeah."), silence(0.5)]))
    await h.wait_for_event("assistant_done", 20.0)
    assert not h.events("interrupted"), h.session.events
    assert not h.sink.clears
    assert h.events("assistant_done")
    assert len(h.events("final_transcript")) == 1  # backchannels are not turns
    assert not h.session.turns[0].interrupted
    await h.session.close()


async def test_own_echo_does_not_interrupt(make_harness, say) -> None:
    h, _ = make_harness(LONG_REPLY[:4], delay_s=0.05)
    await start_reply(h, say)
    h.echo_gain = 0.5  # a loudspeaker phone: our own audio comes back at -6 dB
    await h.wait_for_event("assistant_done", 20.0)
    await h.wait(1.0)
    assert h.sink.frames
    assert not h.events("interrupted")
    assert not h.sink.clears
    assert h.events("assistant_done")
    assert len(h.events("final_transcript")) == 1
    await h.session.close()


async def test_silence_and_low_noise_do_not_start_a_turn(make_harness) -> None:
    h, responder = make_harness(REPLY)
    await h.wait(2.0)
    rng = np.random.default_rng(7)
    await h.play((0.01 * rng.standard_normal(16000 * 3)).astype(np.float32))  # white noise at -40 dBFS
    assert not h.events("speech_started")
    assert not h.events("final_transcript")
    assert not responder.calls
    await h.session.close()


async def test_disconnect_mid_utterance_and_mid_reply(make_harness, say) -> None:
    h, responder = make_harness(LONG_REPLY, delay_s=0.6)
    await start_reply(h, say)
    await h.wait(1.0)
    utterance = say("Actually I wanted to ask about my blood pressure pills.")
    await h.play(utterance[: len(utterance) // 3])
    await h.session.close()
    assert h.session.closed
    assert responder.closed_early
    turn = h.session.turns[0]
    assert turn.interrupted and len(turn.text_heard) < len(" ".join(LONG_REPLY))
    await h.session.feed_audio(np.zeros(320, dtype=np.int16))  # late audio after close is ignored
    assert len(h.events("final_transcript")) == 1


async def test_short_complete_answer_interrupts_after_a_full_check(make_harness, say) -> None:
    h, _ = make_harness(LONG_REPLY, delay_s=0.6)
    await start_reply(h, say)
    await h.wait(1.5)
    await h.play(np.concatenate([say("No, that's wrong."), silence(0.8)]))
    interrupted = h.events("interrupted")
    assert interrupted and interrupted[0]["reason"] == "patient speech"
    assert h.session.turns[0].interrupted
    await h.session.close()


async def test_a_monologue_is_cut_into_turns_at_max_turn_length(make_harness, say) -> None:
    h, responder = make_harness(REPLY, config=VoiceConfig(max_turn_s=1.5, partial_every_ms=5000))
    speech = say("I have been feeling dizzy since this morning and I also have a bad headache.")
    await h.play(np.concatenate([silence(0.3), speech]))
    finals = h.events("final_transcript")
    assert finals, "the turn must end at max_turn_s even though the patient keeps talking"
    assert len(speech) / 16000 > 2.5 and responder.calls
    await h.session.close()
