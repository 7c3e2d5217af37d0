"""Settings as data: every knob has a default, a help text and a `QRTRACE_*` env override.

The class lives in the bottom layer so that every tier's builder (`create_server(settings)`,
`HotStore.open(settings)`, ...) can take the one validated object; nothing reads the
environment at import time. Precedence, highest first: explicit overrides (CLI flags),
environment variables, the TOML file, defaults. The README settings table is checked against
`Settings.model_fields` by a test, so a new knob cannot ship undocumented.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from storage.errors import ConfigError

ENV_PREFIX = "QRTRACE_"
CONFIG_ENV_VAR = "QRTRACE_CONFIG"
DEFAULT_CONFIG_FILE = Path("qrtrace.toml")

# The TOML values for the settings being built; a ContextVar rather than a class attribute so
# two loads with different files (tests, several servers in one process) never see each other's.
_file_values: ContextVar[dict[str, Any] | None] = ContextVar("qrtrace_file_values", default=None)


#: event loops the serving processes can run on (`ingest.loop`)
EventLoop = Literal["uvloop", "asyncio"]


class Settings(BaseSettings):
    """Validated runtime configuration of one qrtrace node."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        frozen=True,
    )

    data_dir: Path = Field(
        default=Path("qrtrace-data"),
        description="Root directory for hot stores, sealed segments, manifests and demo output.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="Minimum level written to the log.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="`json`: one JSON object per line (for collectors); `text`: for humans.",
    )
    retention_days: int = Field(
        default=21,
        ge=1,
        le=366,
        description="Days of scans kept; older days are purged from every store.",
    )
    seal_grace_minutes: int = Field(
        default=60,
        ge=0,
        le=7 * 24 * 60,
        description="Minutes after a local day ends before it is sealed (late uploads).",
    )
    seal_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the maintenance scheduler looks for days due for sealing.",
    )
    purge_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="How often the maintenance scheduler purges days past retention.",
    )
    segment_compression: Literal["zstd", "lz4", "none"] = Field(
        default="zstd",
        description="Sealed segment compression: `zstd` ~12 B/scan on disk; `none` mmaps.",
    )
    demo_scans: int = Field(
        default=200_000,
        ge=1_000,
        le=50_000_000,
        description="Check-in scans in the synthetic day that `qrtrace demo` generates.",
    )
    demo_seed: int = Field(
        default=2021,
        ge=0,
        description="Seed of the demo's synthetic city, so every demo run is reproducible.",
    )
    # ---- ingest server (ingest/server.py, `qrtrace serve`)
    ingest_host: str = Field(
        default="127.0.0.1",
        description="Address the ingest gRPC server binds; plaintext is refused off loopback.",
    )
    ingest_port: int = Field(
        default=50051, ge=0, le=65535, description="Ingest gRPC port (0: any free port)."
    )
    ingest_tokens_file: Path | None = Field(
        default=None,
        description="Device tokens file (`qrtrace devices add`); default <data_dir>/tokens.json.",
    )
    ingest_tls_cert: Path | None = Field(
        default=None, description="PEM server certificate chain; set with ingest_tls_key for TLS."
    )
    ingest_tls_key: Path | None = Field(default=None, description="PEM private key of the cert.")
    ingest_tls_client_ca: Path | None = Field(
        default=None,
        description="PEM CA bundle; when set, clients (gateways) must present a cert (mTLS).",
    )
    ingest_allow_plaintext: bool = Field(
        default=False,
        description="Allow plaintext gRPC on a non-loopback address (behind a TLS proxy only).",
    )
    ingest_max_message_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest request accepted; larger ones get RESOURCE_EXHAUSTED.",
    )
    ingest_max_batch_scans: int = Field(
        default=10_000, ge=1, description="Most scans in one ScanBatch (SubmitScans: 50)."
    )
    ingest_max_streams: int = Field(
        default=64, ge=1, description="Concurrent StreamScans calls; more get RESOURCE_EXHAUSTED."
    )
    ingest_stream_window: int = Field(
        default=16, ge=1, le=1024, description="Batches of one stream in flight before its ack."
    )
    ingest_max_inflight_scans: int = Field(
        default=262_144,
        ge=1,
        description="Scans admitted but not yet durable, all calls together (bounds memory).",
    )
    ingest_overload_wait_ms: int = Field(
        default=200,
        ge=0,
        description="How long a batch waits for in-flight room before RESOURCE_EXHAUSTED.",
    )
    ingest_clock_skew_s: int = Field(
        default=300, ge=0, description="Scans further than this in the future are rejected."
    )
    ingest_drain_timeout_s: float = Field(
        default=10.0, gt=0, description="On SIGTERM, time allowed to finish in-flight batches."
    )
    ingest_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus /metrics port (0: no HTTP endpoint)."
    )
    ingest_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Ingest processes sharing ingest_port (SO_REUSEPORT), one hot store each.",
    )
    ingest_accept_loops: int = Field(
        default=4,
        ge=1,
        le=64,
        description="gRPC servers per ingest process sharing ingest_port; each takes one new "
        "call at a time, so one caps one-scan unary calls (see Ingest API).",
    )
    event_loop: EventLoop = Field(
        default="uvloop",
        description="Event loop of the serving processes: uvloop (C) or asyncio's own.",
    )
    hot_index_capacity: int = Field(
        default=0,
        ge=0,
        description="Scans the exactly-once index is pre-sized for (0: from the log at open).",
    )
    hot_tail_memory_mib: int = Field(
        default=32,
        ge=0,
        description="Unsealed scans kept in memory for readers (MiB); older ones are read "
        "back from the hot log.",
    )
    hot_index_memory_mib: int = Field(
        default=48,
        ge=0,
        description="Memory of the exactly-once index's newest part (MiB); older scan ids "
        "spill to run files under <data_dir>/index-runs (0: all in memory).",
    )
    api_host: str = Field(
        default="127.0.0.1",
        description="Address the officer API (gRPC and HTTP) binds; plaintext only on loopback.",
    )
    api_grpc_port: int = Field(
        default=50052, ge=0, le=65535, description="Officer API gRPC port (0: any free port)."
    )
    api_http_port: int = Field(
        default=8080, ge=0, le=65535, description="Officer API HTTP/JSON port (0: any free port)."
    )
    zone_thresholds: tuple[float, float, float] = Field(
        default=(20.0, 50.0, 150.0),
        description="New cases per 100,000 per week where a ward turns yellow, orange, red "
        "(ascending; env as JSON, e.g. [20, 50, 150]).",
    )
    dask_scheduler: str = Field(
        default="",
        description="Dask scheduler address (tcp://HOST:PORT) that traces run on; empty: this "
        "process.",
    )
    dask_segments: str = Field(
        default="",
        description="Segment directory as the Dask workers see it: a path or a pyarrow URI "
        "(file://, s3://, gs://...); empty: <data_dir>/segments.",
    )
    dask_connect_timeout_s: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="How long to keep trying to reach the Dask scheduler before failing.",
    )
    dask_numba_cache_dir: str = Field(
        default="",
        description="NUMBA_CACHE_DIR set on every Dask worker before it loads the kernels; "
        "empty: the workers' own.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_source = InitSettingsSource(settings_cls, init_kwargs=_file_values.get() or {})
        return (init_settings, env_settings, file_source)


def resolve_config_file(config_file: Path | None) -> Path | None:
    """The TOML file to read: the explicit one, else `$QRTRACE_CONFIG`, else ./qrtrace.toml."""
    if config_file is not None:
        return config_file
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if from_env:
        return Path(from_env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    # Accept both a flat file and one with a [qrtrace] table.
    section = values.get("qrtrace", values)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [qrtrace] must be a table")
    return section


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings; every problem names the setting and its source."""
    path = resolve_config_file(config_file)
    file_values = _read_toml(path) if path is not None else {}
    token = _file_values.set(file_values)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        source = f" (config file {path})" if path is not None else ""
        raise ConfigError(
            f"invalid settings{source}: {problems}. "
            f"Environment variables use the prefix {ENV_PREFIX} (e.g. {ENV_PREFIX}DATA_DIR)."
        ) from None
    finally:
        _file_values.reset(token)


def env_var_name(field_name: str) -> str:
    """The environment variable that overrides a setting."""
    return f"{ENV_PREFIX}{field_name.upper()}"
