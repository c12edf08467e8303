"""Careline voice layer: audio in and out, transport-agnostic, dialogue-agnostic.

Public API (see docs/voice.md):
    VoiceSession, VoiceConfig, Responder, AudioSink, TurnRecord   the pipeline
    VoiceSessionFactory                                            builds sessions from the registry
    run_app_transport, run_twilio_transport, WebsocketsAdapter     transports
"""

from voice.factory import VoiceSessionFactory
from voice.session import AudioSink, Responder, TurnRecord, VoiceConfig, VoiceSession
from voice.transports.app_protocol import run_app_transport
from voice.transports.base import TransportLimits, WebSocketLike, WebsocketsAdapter
from voice.transports.twilio import run_twilio_transport

__all__ = [
    "AudioSink",
    "Responder",
    "TransportLimits",
    "TurnRecord",
    "VoiceConfig",
    "VoiceSession",
    "VoiceSessionFactory",
    "WebSocketLike",
    "WebsocketsAdapter",
    "run_app_transport",
    "run_twilio_transport",
]
