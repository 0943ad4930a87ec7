"""Settings: where Casparian keeps its data, and the limits it runs under.

Each setting has a default, may be set in `$CASPARIAN_HOME/config.toml` (flat keys, named as the
fields below), and may be overridden by the environment variable `CASPARIAN_<FIELD>` in upper case.
The environment wins over the file, the file over the default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from casparian_core.errors import ConfigError

ENV_PREFIX = "CASPARIAN_"
# The job queue's retry policy (jobs/model.py): transient failures are retried this many times,
# by default after these waits.
MAX_RETRIES = 3
BACKOFF_SECS = (1.0, 4.0, 16.0)
DEFAULT_HOME = Path("~/.casparian_flow")
DATABASE_NAME = "casparian_flow.sqlite3"
# The least a guest needs to start (Python, pyarrow, ZeroMQ) and parse a small file, measured at
# about 2x what worked (address space: 400-500 MB, sometimes short at 500; files: 13).
GUEST_MINIMUMS = {"guest_max_memory_mb": 1024, "guest_max_open_files": 32}


class Settings(BaseModel):
    """All settings, validated. Paths inside the home are derived, not configured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = DEFAULT_HOME
    max_workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    # Prod jobs heartbeat this often; the daemon requeues a job silent for stale_timeout_secs.
    heartbeat_secs: float = Field(default=60.0, gt=0)
    stale_timeout_secs: float = Field(default=300.0, gt=0)
    # A job that fails transiently is retried after each of these waits in turn (one per
    # retry); in the environment, comma-separated ("1,4,16").
    retry_backoff_secs: tuple[float, ...] = BACKOFF_SECS
    # A prod worker's warm guest is replaced after this many jobs, or when its memory (RSS)
    # exceeds worker_max_guest_rss_mb. Starting a guest costs ~0.1 s of CPU, 10% on top of
    # 1,000 small files' parsing; the memory ceiling catches a leaking parser sooner.
    worker_recycle_jobs: int = Field(default=10_000, ge=1)
    worker_max_guest_rss_mb: int = Field(default=2048, ge=64)
    # Each worker of a multi-process pool, and its guest, run on a share of the CPUs of their
    # own (jobs/cpu_shares.py); false leaves them wherever the system puts them.
    worker_cpu_affinity: bool = True
    # Where `process` and `start` run jobs: this machine's pool, the Dask scheduler at
    # dask_scheduler (tcp://HOST:8786), or a Dask cluster of max_workers local processes
    # (docs/queue.md "The Dask executor"; needs the [dask] extra).
    executor: Literal["local", "dask", "dask-local"] = "local"
    dask_scheduler: str | None = None
    # A guest (parser subprocess) heartbeats every guest_heartbeat_secs; silence for
    # guest_timeout_secs means it hangs and it is killed (TIMEOUT).
    guest_heartbeat_secs: float = Field(default=1.0, gt=0)
    guest_timeout_secs: float = Field(default=30.0, gt=0)
    # A wall-clock limit per input (a parser may set `timeout_secs` for its own): a parser
    # blocked in a sleep or a read still heartbeats, and uses no CPU time.
    guest_job_timeout_secs: float = Field(default=3600.0, gt=0)
    # Resource limits applied to every guest process.
    guest_max_memory_mb: int = Field(default=8192)
    guest_max_cpu_secs: int = Field(default=3600, ge=1)
    guest_max_open_files: int = Field(default=1024)
    # The bridge always admits only the guest the host started; this also encrypts its traffic
    # (ZeroMQ CURVE), at a cost on bulk data: docs/bridge.md.
    guest_encrypt_bridge: bool = False
    # Per-job log cap and retention of the logs folder.
    log_cap_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    log_retention_days: int = Field(default=7, ge=1)
    log_retention_bytes: int = Field(default=1024**3, ge=1024 * 1024)
    # How often the TUI's service looks for changes made by other processes (CLI, daemon).
    change_poll_secs: float = Field(default=1.0, gt=0)
    # The AI assistant (docs/assistant.md). The key is never a setting: it comes only from
    # ANTHROPIC_API_KEY in the environment, and the base URL from ANTHROPIC_BASE_URL.
    ai_enabled: bool = True
    ai_model: str = "claude-sonnet-4-5"
    ai_max_tokens: int = Field(default=4096, ge=256, le=128_000)
    # Roughly how many tokens of conversation a request may carry; older turns are left out
    # beyond it (estimated at 4 bytes a token).
    ai_context_tokens: int = Field(default=150_000, ge=4_000)
    ai_timeout_secs: float = Field(default=120.0, gt=0)
    # Where `--offline` builds of parser environments take wheels from (by default the home's
    # `wheels/`); `casparian vendor` gathers them on a connected machine.
    wheels_dir: Path = Field(default=None, validate_default=True)
    # The most source a registered parser's bundle may hold (uncompressed bytes).
    registry_max_bundle_bytes: int = Field(default=20_000_000, ge=1000)
    # Folders besides the home's sources that an MCP client's quick_scan may look into (a
    # list in config.toml; in CASPARIAN_MCP_SCAN_ROOTS, separated like PATH).
    mcp_scan_roots: tuple[Path, ...] = ()

    @field_validator(*GUEST_MINIMUMS)
    @classmethod
    def _enough_to_start_a_guest(cls, value: int, info: ValidationInfo) -> int:
        minimum = GUEST_MINIMUMS[str(info.field_name)]
        if value < minimum:
            raise ValueError(
                f"{value} is below {minimum}, the least a guest needs to start Python, pyarrow "
                "and ZeroMQ"
            )
        return value

    @field_validator("retry_backoff_secs", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return value.split(",") if isinstance(value, str) else value

    @field_validator("retry_backoff_secs")
    @classmethod
    def _one_wait_per_retry(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != MAX_RETRIES or any(wait < 0 for wait in value):
            raise ValueError(
                f"give {MAX_RETRIES} waits in seconds, one per retry, none negative "
                "(e.g. [1, 4, 16])"
            )
        return value

    @field_validator("wheels_dir", mode="before")
    @classmethod
    def _wheels_in_the_home_by_default(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return Path(info.data.get("home", DEFAULT_HOME)) / "wheels"
        return Path(str(value)).expanduser().absolute()

    @field_validator("mcp_scan_roots", mode="before")
    @classmethod
    def _absolute_scan_roots(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(os.pathsep) if part]
        if isinstance(value, list | tuple):
            return tuple(Path(str(part)).expanduser().absolute() for part in value)
        return value

    @property
    def database_path(self) -> Path:
        return self.home / DATABASE_NAME

    @property
    def parsers_dir(self) -> Path:
        return self.home / "parsers"

    @property
    def output_dir(self) -> Path:
        return self.home / "output"

    @property
    def output_uri(self) -> str:
        """The home's output folder as a Parquet sink: where `process` writes by default."""
        return f"parquet://{self.output_dir}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def venvs_dir(self) -> Path:
        return self.home / "venvs"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def config_path(self) -> Path:
        return self.home / "config.toml"


def load_settings(env: Mapping[str, str] | None = None, home: Path | str | None = None) -> Settings:
    """Build Settings from defaults, `config.toml` in the home, then the environment.

    `home` (e.g. from a `--home` flag) wins over `CASPARIAN_HOME`.
    """
    env = os.environ if env is None else env
    home_path = Path(home or env.get(f"{ENV_PREFIX}HOME") or DEFAULT_HOME).expanduser()
    home_path = home_path.absolute()
    values: dict[str, object] = dict(_read_config_file(home_path / "config.toml"))
    for field in Settings.model_fields:
        env_value = env.get(ENV_PREFIX + field.upper())
        if env_value is not None and field != "home":
            values[field] = env_value
    values["home"] = home_path
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"Invalid settings ({problems}): fix {home_path / 'config.toml'} "
            f"or the {ENV_PREFIX}* environment variables."
        ) from None


def _read_config_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Cannot read {path}: byte {exc.start + 1} is not UTF-8 text; save the file as "
            "UTF-8 (TOML requires it) or remove it."
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read {path} ({exc}): fix or remove the file.") from None
    data.pop("home", None)  # the home is where the file lives; it cannot move itself
    return data
