"""Presets and TOML config files: every shipped preset loads; a key that is no setting is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import PRESETS_DIR, Settings, load_preset

PRESETS = sorted(PRESETS_DIR.glob("*.toml"))


def test_presets_are_shipped() -> None:
    assert {p.stem for p in PRESETS} >= {"dense", "hybrid", "keyword"}


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_loads_by_name_and_by_path(path: Path) -> None:
    by_name = load_preset(path.stem)
    assert isinstance(by_name, Settings)
    assert by_name == load_preset(str(path))


def test_preset_values_and_overrides_apply(tmp_path: Path) -> None:
    assert load_preset("dense").retrieval_mode == "dense"
    assert load_preset("keyword", top_k=3).top_k == 3
    config = tmp_path / "mine.toml"
    config.write_text('retrieval_mode = "keyword"\ntop_k = 7\n', encoding="utf-8")
    settings = load_preset(str(config))
    assert (settings.retrieval_mode, settings.top_k) == ("keyword", 7)


def test_misspelled_key_is_a_config_error_naming_file_key_and_match(tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text('retrival_mode = "dense"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_preset(str(config))
    message = str(caught.value)
    assert str(config) in message
    assert "'retrival_mode'" in message
    assert "did you mean 'retrieval_mode'" in message


def test_unknown_key_without_a_close_match_lists_the_valid_keys(tmp_path: Path) -> None:
    config = tmp_path / "odd.toml"
    config.write_text('top_k = 3\nzzz = 1\n[retrieval]\nmode = "dense"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_preset(str(config))
    message = str(caught.value)
    assert str(config) in message
    assert "unknown settings" in message and "'zzz'" in message and "'retrieval'" in message
    assert "valid keys:" in message and "retrieval_mode" in message and "top_k" in message


def test_config_error_is_a_usage_error() -> None:  # the CLI exits 2 on UsageError
    from core.errors import UsageError

    assert issubclass(ConfigError, UsageError)


def test_environment_still_ignores_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSRAG_NO_SUCH_SETTING", "1")
    monkeypatch.setenv("NEWSRAG_TOP_K", "4")
    assert load_preset("hybrid").top_k == 4


def test_missing_preset_names_the_known_ones() -> None:
    with pytest.raises(FileNotFoundError, match="dense"):
        load_preset("no-such-preset")
