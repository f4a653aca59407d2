"""Typed settings: keyword arguments > ``PROMV5_*`` environment > config file > defaults.

Loaded once in entry points (the CLI, the magics, the app) and passed down; nothing here reads the
environment at import time. The config file is TOML, found at ``$PROMV5_CONFIG`` or
``~/.config/promv5-lab/config.toml``::

    backend_url = "https://prometheus.example.com"
    bearer_token = "..."
    timeout_s = 15
    timezone = "Europe/Paris"          # times of day in questions ("since 14:00") and answers
    llm_url = "http://localhost:11434/v1"   # optional LLM planner (any OpenAI-compatible endpoint)
    llm_model = "llama3.1"
    [headers]
    X-Scope-OrgID = "team-a"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError

DEFAULT_CONFIG_FILE = Path("~/.config/promv5-lab/config.toml")


def config_file_path() -> Path:
    """Where the config file is looked for (``$PROMV5_CONFIG`` wins)."""
    return Path(os.environ.get("PROMV5_CONFIG", str(DEFAULT_CONFIG_FILE))).expanduser()


class Settings(BaseSettings):
    """Everything promv5-lab can be told. Secrets are ``SecretStr`` and never printed."""

    model_config = SettingsConfigDict(env_prefix="PROMV5_", extra="forbid", frozen=True)

    backend_url: str | None = Field(None, description="Prometheus-compatible base URL; None = embedded demo")
    data_dir: Path | None = Field(None, description="A simulate output or snapshot directory")
    data_engine: Literal["embedded", "prometheus"] = Field(
        "embedded", description="What serves data_dir: the embedded engine, or a local Prometheus (needs the binary)"
    )
    bearer_token: SecretStr | None = None
    basic_auth_user: str | None = None
    basic_auth_password: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Extra HTTP headers")
    tls_verify: bool = True
    tls_ca_file: Path | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    timeout_s: float = Field(10.0, gt=0, le=600)
    retries: int = Field(2, ge=0, le=10)
    max_points_per_series: int = Field(11_000, gt=0)
    max_response_bytes: int = Field(200_000_000, gt=0, description="Refuse larger responses (no hung kernel)")
    cache_dir: Path = Field(Path("~/.cache/promv5-lab"))
    timezone: str = Field("UTC", description="IANA zone for times of day in questions and answers (Europe/Paris)")
    llm_url: str | None = Field(None, description="OpenAI-compatible base URL (.../v1) for the optional LLM planner")
    llm_model: str | None = Field(None, description="Model name sent to llm_url (gpt-4o-mini, llama3.1...)")
    llm_api_key: SecretStr | None = Field(None, description="Bearer key for llm_url; never printed")
    llm_timeout_s: float = Field(30.0, gt=0, le=600)
    report_templates_dir: Path | None = Field(
        None, description="Folder of Jinja2 templates overriding the built-in report templates (same file names)")
    voice_mode: Literal["auto", "grammar", "free", "whisper"] = Field(
        "auto", description="Speech recognition: catalogue grammar with free-form fallback (auto), or one mode")
    voice_whisper_model: Path | None = Field(
        None, description="Local Whisper checkpoint directory for voice_mode=whisper (never downloaded)")
    voice_tts_voice: str = Field("en-us", description="espeak-ng voice for spoken answers and alerts")
    voice_tts_wpm: int = Field(160, ge=80, le=400, description="Speaking rate of spoken answers (words per minute)")
    vision_model_dir: Path | None = Field(
        None, description="Local Hugging Face image classifier for screenshot panels; None = the shipped model")
    vision_url: str | None = Field(
        None, description="OpenAI-compatible base URL (.../v1) of a vision model that classifies panels instead")
    vision_model: str | None = Field(None, description="Model name sent to vision_url (gpt-4o-mini, llava...)")
    vision_api_key: SecretStr | None = Field(None, description="Bearer key for vision_url; never printed")
    vision_timeout_s: float = Field(60.0, gt=0, le=600)
    vision_ocr: bool = Field(True, description="Read panel titles and axis ticks with tesseract when installed")

    @field_validator("backend_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"backend_url must start with http:// or https://, got {v!r}")
        return v.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone must be an IANA zone name such as UTC or Europe/Paris, got {v!r}") from exc
        return v

    @field_validator("llm_url", "vision_url")
    @classmethod
    def _check_llm_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"the URL must start with http:// or https://, got {v!r}")
        return v.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file_path()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`, turning validation failures into a :class:`ConfigError`."""
    from pydantic import ValidationError

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid settings: {problems}",
            hint=f"Check keyword arguments, PROMV5_* environment variables and {config_file_path()}",
        ) from exc
