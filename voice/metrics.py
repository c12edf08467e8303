"""Prometheus metrics of the voice layer (module level: registered once per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)

STAGE_SECONDS = Histogram(
    "careline_voice_stage_seconds",
    "Time from the end of patient speech to each stage of the reply",
    ["stage"],  # endpoint, final_transcript, first_token, first_tts_audio, first_audio_sent
    buckets=_LATENCY_BUCKETS,
)
VOICE_TO_VOICE_SECONDS = Histogram(
    "careline_voice_to_voice_seconds",
    "End of patient speech to the first assistant audio frame sent",
    buckets=_LATENCY_BUCKETS,
)
ASR_SECONDS = Histogram(
    "careline_voice_asr_seconds", "Duration of one transcription", ["kind"], buckets=_LATENCY_BUCKETS
)
TTS_SECONDS = Histogram(
    "careline_voice_tts_seconds", "Synthesis time of one sentence", buckets=_LATENCY_BUCKETS
)
BARGE_IN_SECONDS = Histogram(
    "careline_voice_barge_in_seconds",
    "Patient speech onset to assistant audio stopping (pause) or being cancelled (interrupt)",
    ["kind"],
    buckets=_LATENCY_BUCKETS,
)
INTERRUPTIONS = Counter("careline_voice_interruptions_total", "Assistant turns interrupted", ["reason"])
BARGE_IN_IGNORED = Counter(
    "careline_voice_barge_in_ignored_total",
    "Speech during the assistant's turn that did not interrupt",
    ["reason"],
)
TURNS = Counter("careline_voice_turns_total", "Patient turns ended by the endpointer")
SESSIONS_ACTIVE = Gauge("careline_voice_sessions_active", "Voice sessions currently open")
TRANSPORT_ERRORS = Counter(
    "careline_voice_transport_errors_total", "Protocol errors sent to clients", ["transport", "code"]
)
