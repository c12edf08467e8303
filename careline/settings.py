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
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8100", "http://localhost:8100"],
        description="Browser origins (the consoles on the assistant) allowed to call the clinical API",
    )
    web_idle_timeout_s: int = Field(
        900, description="Web consoles sign out after this many seconds without user activity"
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


class ImagingSettings(BaseModel):
    """DICOMweb image store (clinical API)."""

    storage_dir: Path | None = Field(
        None, description="Content-addressed DICOM files (default: data_dir/dicom)"
    )
    max_instance_bytes: int = Field(
        100_000_000, description="Largest single DICOM instance accepted by STOW-RS"
    )
    share_link_ttl_s: int = Field(7 * 24 * 3600, description="Default lifetime of an image share link")
    share_link_max_ttl_s: int = Field(30 * 24 * 3600, description="Longest lifetime a share link may ask for")
    issuer_systems: dict[str, str] = Field(
        default_factory=dict,
        description="IssuerOfPatientID -> Patient.identifier system (unlisted: urn:oid:<issuer> for OIDs, "
        "else urn:careline:issuer:<issuer>)",
    )
    default_issuer: str = Field("", description="Issuer assumed when a DICOM file has no IssuerOfPatientID")
    public_url: str = Field(
        "", description="Base URL of DICOMweb links (RetrieveURL, BulkDataURI); default: from the request"
    )


class VideoSettings(BaseModel):
    """Live video consults: rooms, join tokens and WebRTC ICE servers."""

    ice_servers: list[str] = Field(
        default_factory=list,
        description="STUN/TURN URLs handed to browsers, e.g. stun:stun.example.org:3478 (empty: host candidates only)",
    )
    turn_username: str = Field("", description="TURN username (coturn static auth), if a TURN URL is given")
    turn_password: SecretStr = Field(SecretStr(""), description="TURN password")
    early_join_s: int = Field(15 * 60, description="How long before an appointment its room opens")
    late_grace_s: int = Field(
        30 * 60, description="How long after an appointment's end its join tokens stay valid"
    )
    escalation_ttl_s: int = Field(3600, description="Lifetime of join tokens for an escalation Task's room")
    turn_secret: SecretStr = Field(
        SecretStr(""),
        description="coturn use-auth-secret key; when set, TURN credentials are minted per participant",
    )
    max_peers: int = Field(
        4, ge=2, le=16, description="Participants per room (full mesh; beyond this use an SFU)"
    )


class OutreachSettings(BaseModel):
    """Proactive follow-up check-ins and appointment reminders."""

    enabled: bool = Field(
        True,
        description="Run the outreach scheduler inside the clinical API (workers: careline outreach worker)",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server for e-mail outreach")
    smtp_port: int = Field(25, description="SMTP port")
    smtp_from: str = Field("careline@localhost", description="Sender address of outreach e-mails")
    smtp_timeout_s: float = Field(10.0, description="SMTP connect/send timeout")
    telephony_url: str = Field(
        "", description="Twilio-compatible REST base URL for outbound calls (empty: no phone)"
    )
    telephony_account_sid: str = Field(
        "AC00000000000000000000000000000000", description="Telephony account SID"
    )
    telephony_auth_token: SecretStr = Field(
        SecretStr("dev-telephony-token"), description="Telephony auth token"
    )
    telephony_from: str = Field("+15550100000", description="Caller number (E.164) of outbound calls")
    telephony_timeout_s: float = Field(10.0, description="Timeout of one call request to the provider")
    assistant_stream_url: str = Field(
        "ws://127.0.0.1:8100/v1/phone/twilio",
        description="Media-stream WebSocket the provider opens on connect",
    )
    public_url: str = Field(
        "", description="Base URL of links in messages (default: the clinical API's own URL)"
    )
    default_channels: list[str] = Field(
        default_factory=lambda: ["app", "phone", "email"],
        description="Channel order for patients without preferences (app, phone, email)",
    )
    quiet_start: str = Field(
        "21:00", description="Default start of quiet hours (patient's local time, HH:MM)"
    )
    quiet_end: str = Field("08:00", description="Default end of quiet hours (HH:MM)")
    timezone: str = Field("UTC", description="Default patient time zone (IANA name) for quiet hours")
    max_attempts: int = Field(3, ge=1, description="Sends of one check-in before a nurse Task is raised")
    answer_wait_s: int = Field(4 * 3600, ge=1, description="Wait for a check-in answer before sending again")
    retry_delays_s: list[int] = Field(
        default_factory=lambda: [300, 1800],
        description="Delay before retrying after a provider error, per try",
    )
    checkin_window_s: int = Field(
        12 * 3600, ge=1, description="A check-in later than this past due (no period end) is marked missed"
    )
    reminder_offsets_s: list[int] = Field(
        default_factory=lambda: [24 * 3600, 3600], description="Appointment reminders this long before start"
    )
    poll_interval_s: float = Field(5.0, gt=0, description="How often a worker claims due jobs")
    plan_interval_s: float = Field(
        60.0, gt=0, description="How often CarePlans and Appointments are re-planned"
    )
    batch_size: int = Field(50, ge=1, description="Jobs one worker claims per tick")
    lease_s: int = Field(
        120, ge=1, description="A claimed job returns to the queue this long after its last heartbeat"
    )
    lease_retries: int = Field(1, ge=0, description="Re-runs of a job whose worker died before escalation")
    worker_id: str = Field("", description="Name of this worker in leases (default: host-pid)")
    stream_poll_s: float = Field(
        1.0, gt=0, description="How often the notification stream looks for new items"
    )


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
    imaging: ImagingSettings = ImagingSettings()
    video: VideoSettings = VideoSettings()
    outreach: OutreachSettings = OutreachSettings()

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
