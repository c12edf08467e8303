"""The one typed settings object for every Careline process.

Values come, highest priority first, from: keyword arguments, ``CARELINE_*``
environment variables (nested groups use ``__``, e.g. ``CARELINE_LLM__BACKEND``),
the TOML file named by ``CARELINE_CONFIG`` (default ``careline.toml`` if present),
then the defaults below. Every default is the embedded, offline form; each group
documents what its settings swap.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Device = Literal["cpu", "cuda", "auto"]


class DatabaseSettings(BaseModel):
    """Clinical API storage. Empty URL means SQLite in the data folder."""

    url: str = Field("", description="SQLAlchemy URL; e.g. postgresql+psycopg://user@127.0.0.1:5432/careline")
    echo: bool = Field(False, description="Log every SQL statement")


class ChromaSettings(BaseModel):
    """Knowledge-base vector store: an embedded folder, or a `chroma run` server when host is set."""

    path: Path | None = Field(None, description="Embedded Chroma folder (default: <data_dir>/chroma)")
    host: str = Field("", description="Chroma server host; set it to use a server instead of the folder")
    port: int = Field(8000, description="Chroma server port")
    collection: str = Field("careline_kb", description="Collection name")
    corpus_path: Path | None = Field(
        None,
        description="Corpus `kb bootstrap` ingests (default: ../shared/data/medquad/corpus.jsonl from the repo)",
    )
    max_file_bytes: int = Field(50_000_000, ge=1, description="Files larger than this are skipped at ingest")
    min_confidence: float = Field(
        0.5, ge=0.0, le=1.0, description="Below this retrieval confidence an answer says 'I don't know'"
    )


class LLMSettings(BaseModel):
    """The language model that words replies. It never decides clinical levels."""

    backend: Literal["local", "openai"] = Field(
        "local", description="local = transformers on a model folder; openai = an OpenAI-compatible server"
    )
    model_path: Path | None = Field(
        None,
        description="Local Hugging Face model folder (default: packaged SmolLM2-135M-Instruct, converted once)",
    )
    base_url: str = Field("", description="OpenAI-compatible server URL, e.g. http://127.0.0.1:8080/v1")
    api_key: SecretStr = Field(SecretStr(""), description="API key for the OpenAI-compatible server")
    model: str = Field("local", description="Model name sent to the OpenAI-compatible server")
    max_new_tokens: int = Field(96, ge=1, le=4096, description="Upper bound on generated tokens per reply")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy decoding")
    capable: bool = Field(
        False,
        description="True when the configured LLM is strong enough to generate answers and extract findings",
    )


class ASRSettings(BaseModel):
    """Speech recognition (faster-whisper)."""

    model: Literal["tiny.en", "base", "small"] = Field(
        "tiny.en", description="Packaged model: tiny.en (English), base/small (multilingual)"
    )
    multilingual_model: Literal["base", "small"] = Field(
        "base", description="Packaged model used when the session language is not English"
    )
    model_path: Path | None = Field(
        None, description="A CTranslate2 Whisper folder instead of a packaged model"
    )
    compute_type: str = Field("int8", description="CTranslate2 compute type (int8, int8_float16, float16)")
    beam_size: int = Field(1, ge=1, le=10, description="Beam size; 1 = greedy, fastest")


class TTSSettings(BaseModel):
    """Speech synthesis: Piper for English, espeak-ng for other languages, Coqui when its files are given."""

    backend: Literal["piper", "espeak", "coqui"] = Field("piper", description="Engine for English speech")
    piper_voice: Path | None = Field(
        None, description="Piper .onnx voice (default: packaged en_US-joe-medium)"
    )
    coqui_model_path: Path | None = Field(None, description="Coqui TTS model file (needs the `coqui` extra)")
    coqui_config_path: Path | None = Field(None, description="Coqui TTS config.json")
    espeak_voice_zh: str = Field("cmn", description="espeak-ng voice for Chinese")


class EmbeddingSettings(BaseModel):
    """Sentence embeddings for retrieval and the lexicon fallback."""

    model_path: Path | None = Field(
        None, description="sentence-transformers folder (default: packaged MiniLM-L6-v2)"
    )


class VADSettings(BaseModel):
    """Voice activity detection (Silero, shipped inside faster-whisper)."""

    threshold: float = Field(
        0.5, ge=0.05, le=0.95, description="Speech probability threshold per 32 ms frame"
    )


class ServerSettings(BaseModel):
    """Where each server listens."""

    host: str = Field("127.0.0.1", description="Bind address of both servers")
    assistant_port: int = Field(8100, description="Assistant (patient app, text and voice) port")
    clinical_port: int = Field(8101, description="Clinical API port")
    clinical_url: str = Field("", description="Clinical API base URL the assistant calls (default: local)")
    max_body_bytes: int = Field(2_000_000, description="Largest JSON request body accepted")
    max_upload_bytes: int = Field(200_000_000, description="Largest DICOM/photo upload accepted")
    video_base_url: str = Field(
        "https://video.careline.local/room",
        description="Base of the video-consult join links the clinical API issues",
    )


class SecuritySettings(BaseModel):
    """Secrets and access rules."""

    jwt_secret: SecretStr = Field(
        SecretStr("change-me-in-production-careline-dev-secret"), description="HMAC key for JWTs"
    )
    token_ttl_s: int = Field(3600, description="Lifetime of user access tokens")
    patient_token_ttl_s: int = Field(900, description="Lifetime of patient-scoped service tokens")
    staff_scope: Literal["department", "all"] = Field(
        "department", description="Nurses/doctors see the patients of their department, or all patients"
    )
    service_username: str = Field("assistant", description="Service account the assistant signs in with")
    service_password: SecretStr = Field(
        SecretStr("assistant-dev-password"), description="Password of that service account"
    )


class RedisSettings(BaseModel):
    """Shared session state; empty URL means in-process memory."""

    url: str = Field("", description="e.g. redis://127.0.0.1:6379/0 to share sessions between workers")


class Settings(BaseSettings):
    """Every setting of every Careline process, resolved in one place."""

    model_config = SettingsConfigDict(
        env_prefix="CARELINE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(Path("var"), description="Databases, the embedded Chroma folder, images")
    cache_dir: Path = Field(Path(".cache/careline"), description="Assembled and converted model weights")
    device: Device = Field("cpu", description="Inference device: cpu, cuda, or auto (cuda when present)")
    log_level: str = Field("INFO", description="Root log level")
    database: DatabaseSettings = DatabaseSettings()
    chroma: ChromaSettings = ChromaSettings()
    llm: LLMSettings = LLMSettings()
    asr: ASRSettings = ASRSettings()
    tts: TTSSettings = TTSSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    vad: VADSettings = VADSettings()
    server: ServerSettings = ServerSettings()
    security: SecuritySettings = SecuritySettings()
    redis: RedisSettings = RedisSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("CARELINE_CONFIG", "careline.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'clinical.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.chroma.path or self.data_dir / "chroma"

    @property
    def clinical_url(self) -> str:
        return self.server.clinical_url or f"http://{self.server.host}:{self.server.clinical_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings(...)` instead."""
    return Settings()
