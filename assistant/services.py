"""Everything the assistant server holds for its lifetime, built once at start-up."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field

from assistant.dialogue.agent import DialogueAgent
from assistant.sessions.store import SessionStore, build_store
from assistant.tools import ClinicalAuth, PatientTools
from careline.settings import Settings
from models.registry import ModelRegistry, get_registry
from voice.factory import VoiceSessionFactory


@dataclass
class AssistantServices:
    settings: Settings
    registry: ModelRegistry
    agent: DialogueAgent
    store: SessionStore
    auth: ClinicalAuth
    knowledge: object
    voice: VoiceSessionFactory
    _scopes: dict[str, tuple[str, str, float]] = field(default_factory=dict)

    async def tools_for(self, patient_token: str) -> PatientTools:
        """The patient's scoped tools; the exchange is cached until shortly before the token expires."""
        key = hashlib.sha256(patient_token.encode()).hexdigest()
        cached = self._scopes.get(key)
        if cached is None or cached[2] < time.time() + 30:
            cached = await self.auth.patient_scope(patient_token)
            self._scopes[key] = cached
        token, patient_id, _ = cached
        return PatientTools(self.settings.clinical_url, token, patient_id)

    async def close(self) -> None:
        await self.store.close()


def build_services(settings: Settings, registry: ModelRegistry | None = None) -> AssistantServices:
    from assistant.clinical_engine import ProtocolClinicalEngine
    from knowledge import KnowledgeBase

    registry = registry or get_registry(settings)
    generator = registry.llm() if settings.llm.capable else None
    knowledge = KnowledgeBase.from_settings(settings, generator=generator)
    agent = DialogueAgent(ProtocolClinicalEngine.from_registry(registry), knowledge)
    auth = ClinicalAuth(
        settings.clinical_url,
        settings.security.service_username,
        settings.security.service_password.get_secret_value(),
    )
    voice = VoiceSessionFactory(registry)  # each call builds with its own DialogueResponder
    return AssistantServices(
        settings, registry, agent, build_store(settings.redis.url), auth, knowledge, voice
    )


async def preload_models(registry: ModelRegistry) -> None:
    """Load every default model before the server says it is ready, off the event loop."""
    loaders = (
        registry.embeddings,
        registry.vad,
        registry.llm,
        lambda: registry.asr("en"),
        lambda: registry.tts("en"),
    )
    for load in loaders:
        await asyncio.to_thread(load)
