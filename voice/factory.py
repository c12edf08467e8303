"""Builds `VoiceSession`s from the model registry: the one call the assistant server makes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from models.registry import ModelRegistry
from voice.bargein import BargeInPolicy
from voice.endpointing import AdaptiveEndpoint, EndpointPolicy
from voice.session import AudioSink, Responder, VoiceConfig, VoiceSession

ResponderFactory = Callable[[dict[str, Any]], Responder]


class VoiceSessionFactory:
    """`factory(sink, params)` -> a VoiceSession for one call.

    `params` come from the transport: the app's `start` message (language, ...) or
    Twilio's customParameters plus stream_sid/call_sid. `responder_factory(params)`
    returns the dialogue side for that call (the assistant's Responder).
    """

    def __init__(
        self,
        registry: ModelRegistry,
        responder_factory: ResponderFactory | None = None,
        config: VoiceConfig | None = None,
        endpointing: Callable[[], EndpointPolicy] = AdaptiveEndpoint,
        barge_in: Callable[[], BargeInPolicy] = BargeInPolicy,
    ) -> None:
        self.registry = registry
        self.responder_factory = responder_factory
        self.config = config or VoiceConfig(vad_threshold=registry.settings.vad.threshold)
        self.endpointing = endpointing
        self.barge_in = barge_in

    def warm_up(self, languages: tuple[str, ...] = ("en",)) -> None:
        """Loads the models now (at server start) instead of on the first call."""
        self.registry.vad()
        for lang in languages:
            self.registry.asr(lang)
            self.registry.tts(lang)

    def __call__(self, sink: AudioSink, params: dict[str, Any]) -> VoiceSession:
        if self.responder_factory is None:
            raise TypeError("this factory has no responder_factory: call build() with a responder")
        return self.build(sink, params, self.responder_factory(params))

    def build(
        self,
        sink: AudioSink,
        params: dict[str, Any],
        responder: Responder,
        on_event: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None,
    ) -> VoiceSession:
        """A session with an explicit responder and event listener (the assistant keeps its history so)."""
        language = str(params.get("language") or self.config.language)
        config = replace(
            self.config, language=language, playback_acks=bool(params.get("playback_acks", True))
        )
        return VoiceSession(
            asr=self.registry.asr(language),
            tts=self.registry.tts(language),
            vad=self.registry.vad(),
            responder=responder,
            sink=sink,
            config=config,
            endpointing=self.endpointing(),
            barge_in=self.barge_in(),
            on_event=on_event,
        )
