from pathlib import Path

import pytest

from storage.errors import ConfigError
from storage.settings import Settings, env_var_name, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(env_var_name(name), raising=False)
    monkeypatch.delenv("QRTRACE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./qrtrace.toml


def test_defaults() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("qrtrace-data")
    assert settings.retention_days == 21


def test_precedence_override_env_file_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "q.toml"
    config.write_text('retention_days = 10\nlog_level = "DEBUG"\ndemo_seed = 5\n')
    monkeypatch.setenv("QRTRACE_LOG_LEVEL", "ERROR")
    monkeypatch.setenv("QRTRACE_DEMO_SEED", "6")
    settings = load_settings(config, demo_seed=7)
    assert settings.retention_days == 10  # file beats default
    assert settings.log_level == "ERROR"  # env beats file
    assert settings.demo_seed == 7  # override beats env


def test_config_file_from_env_and_qrtrace_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "other.toml"
    config.write_text("[qrtrace]\nretention_days = 30\n")
    monkeypatch.setenv("QRTRACE_CONFIG", str(config))
    assert load_settings().retention_days == 30


def test_none_override_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRTRACE_DATA_DIR", "/srv/q")
    assert load_settings(data_dir=None).data_dir == Path("/srv/q")


def test_invalid_env_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRTRACE_RETENTION_DAYS", "0")
    with pytest.raises(ConfigError, match="retention_days"):
        load_settings()


def test_unknown_key_in_file_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "q.toml"
    config.write_text("retention_dayz = 3\n")
    with pytest.raises(ConfigError, match=r"retention_dayz.*q\.toml|q\.toml.*retention_dayz"):
        load_settings(config)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "b.toml"
    broken.write_text("retention_days = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_every_setting_has_help() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no help text"
