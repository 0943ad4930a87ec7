from pathlib import Path

import pytest

from casparian_core.config import DATABASE_NAME, load_settings
from casparian_core.errors import ConfigError


def test_defaults_live_under_the_home(home: Path) -> None:
    settings = load_settings(env={}, home=home)
    assert settings.database_path == home / DATABASE_NAME
    assert settings.parsers_dir == home / "parsers"
    assert settings.output_dir == home / "output"
    assert settings.logs_dir == home / "logs"
    assert settings.log_cap_bytes == 10 * 1024 * 1024
    assert settings.stale_timeout_secs == 300


def test_home_comes_from_the_environment_when_no_flag(tmp_path: Path) -> None:
    settings = load_settings(env={"CASPARIAN_HOME": str(tmp_path / "h")})
    assert settings.home == tmp_path / "h"


def test_default_home_is_in_the_user_directory() -> None:
    settings = load_settings(env={})
    assert settings.home == Path("~/.casparian_flow").expanduser()


def test_config_file_then_environment_override_defaults(home: Path) -> None:
    (home / "config.toml").write_text("max_workers = 3\nheartbeat_secs = 5\n")
    settings = load_settings(env={"CASPARIAN_MAX_WORKERS": "7"}, home=home)
    assert settings.max_workers == 7  # environment beats the file
    assert settings.heartbeat_secs == 5  # file beats the default


def test_bad_value_names_the_setting_and_the_file(home: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env={"CASPARIAN_MAX_WORKERS": "many"}, home=home)
    assert "max_workers" in str(raised.value)
    assert str(home / "config.toml") in str(raised.value)


def test_unknown_key_in_config_file_is_rejected(home: Path) -> None:
    (home / "config.toml").write_text("max_wrokers = 3\n")
    with pytest.raises(ConfigError, match="max_wrokers"):
        load_settings(env={}, home=home)


def test_malformed_config_file_is_a_clear_error(home: Path) -> None:
    (home / "config.toml").write_text("max_workers = = 3\n")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_settings(env={}, home=home)


def test_the_retry_backoff_comes_from_the_file_or_the_environment(home: Path) -> None:
    assert load_settings(env={}, home=home).retry_backoff_secs == (1, 4, 16)
    (home / "config.toml").write_text("retry_backoff_secs = [2, 10, 60]\n")
    assert load_settings(env={}, home=home).retry_backoff_secs == (2, 10, 60)
    env = {"CASPARIAN_RETRY_BACKOFF_SECS": "0.1,0.2,0.5"}
    assert load_settings(env=env, home=home).retry_backoff_secs == (0.1, 0.2, 0.5)


@pytest.mark.parametrize("value", ["[1, 4]", "[1, 4, 16, 64]", "[1, -4, 16]"])
def test_a_retry_backoff_needs_one_wait_per_retry_none_negative(home: Path, value: str) -> None:
    (home / "config.toml").write_text(f"retry_backoff_secs = {value}\n")
    with pytest.raises(ConfigError, match=r"retry_backoff_secs: .*3 waits in seconds"):
        load_settings(env={}, home=home)
