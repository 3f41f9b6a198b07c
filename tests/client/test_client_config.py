"""Where the CLI's settings come from: flags, then environment, then the config file,
then (for the URL and key) the `.stowage-dev.json` of a running `make dev`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stowage_client.config import MIB, ConfigError, load_settings, parse_size
from stowage_client.upload import held_parts, part_length


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('url = "https://file.example"\napi_key = "stw_file"\nconcurrency = 3\n')
    return path


def test_a_flag_beats_the_environment_which_beats_the_file(config_file: Path, tmp_path: Path):
    env = {"STOWAGE_CONFIG": str(config_file), "STOWAGE_URL": "https://env.example/"}
    settings = load_settings({"api_key": "stw_flag"}, env, tmp_path)
    assert (settings.url, settings.api_key) == ("https://env.example", "stw_flag")
    assert settings.concurrency == 3


def test_make_dev_needs_no_configuration(tmp_path: Path):
    # Given: .stowage-dev.json two folders up, nothing else
    (tmp_path / ".stowage-dev.json").write_text(
        json.dumps({"url": "http://127.0.0.1:3000", "api_key": "stw_dev"})
    )
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    env = {"STOWAGE_CONFIG": str(tmp_path / "none.toml"), "XDG_STATE_HOME": str(tmp_path)}
    # When
    settings = load_settings({}, env, here)
    # Then
    assert (settings.url, settings.api_key) == ("http://127.0.0.1:3000", "stw_dev")
    assert settings.state_dir == tmp_path / "stowage"


def test_a_url_given_elsewhere_is_not_mixed_with_the_dev_stack(tmp_path: Path):
    (tmp_path / ".stowage-dev.json").write_text(json.dumps({"url": "x", "api_key": "stw_dev"}))
    env = {"STOWAGE_CONFIG": str(tmp_path / "none.toml"), "STOWAGE_URL": "https://prod.example"}
    with pytest.raises(ConfigError, match="no API key"):
        load_settings({}, env, tmp_path)


def test_sizes_take_suffixes():
    assert [parse_size(v) for v in ("8388608", "64K", "8M", "8MiB", "1G", 5)] == [
        8 * MIB,
        64 * 1024,
        8 * MIB,
        8 * MIB,
        1024 * MIB,
        5,
    ]
    with pytest.raises(ConfigError):
        parse_size("lots")


def test_a_short_part_in_s3_is_sent_again():
    # Given: 12 MiB in 5 MiB parts; S3 holds part 1 whole, part 2 cut short, part 3 whole
    status = {
        "size": 12 * MIB,
        "part_size": 5 * MIB,
        "parts": [
            {"part_number": 1, "size": 5 * MIB, "etag": '"a"'},
            {"part_number": 2, "size": 1, "etag": '"b"'},
            {"part_number": 3, "size": 2 * MIB, "etag": '"c"'},
        ],
    }
    assert held_parts(status) == {1: '"a"', 3: '"c"'}
    assert part_length(4, 5 * MIB, 12 * MIB) == 0
