"""Where the CLI finds the API and its key, and where it keeps local state.

Each setting comes from the first of: a flag, the environment (`STOWAGE_URL`,
`STOWAGE_API_KEY`, …), the config file (`$STOWAGE_CONFIG`, else
`~/.config/stowage/config.toml`). When no URL is set anywhere, the URL and key of a
running `make dev` stack are read from the nearest `.stowage-dev.json` above the
current directory, so local development needs no configuration at all.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEV_FILE = ".stowage-dev.json"
MIB = 1024 * 1024

# Setting name -> environment variable; the config file uses the setting names.
ENVIRONMENT = {
    "url": "STOWAGE_URL",
    "api_key": "STOWAGE_API_KEY",
    "concurrency": "STOWAGE_CONCURRENCY",
    "multipart_threshold": "STOWAGE_MULTIPART_THRESHOLD",
    "part_size": "STOWAGE_PART_SIZE",
    "state_dir": "STOWAGE_STATE_DIR",
}
DEFAULTS: dict[str, Any] = {
    "concurrency": 8,
    # One default part (8 MiB): below it a draft takes 3 requests instead of 4.
    "multipart_threshold": 8 * MIB,
    "part_size": None,
    "state_dir": None,
}


class ConfigError(Exception):
    """No API URL or key could be found, or a setting has a wrong value."""


@dataclass(frozen=True)
class Settings:
    url: str
    api_key: str
    concurrency: int = 8
    multipart_threshold: int = 8 * MIB
    part_size: int | None = None
    """None: the server's default part size."""
    state_dir: Path = Path.home() / ".local" / "state" / "stowage"


def load_settings(
    flags: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting from flags, environment, config file, then `make dev`."""
    environ = os.environ if environ is None else environ
    file_values = read_config_file(config_path(environ))
    values: dict[str, Any] = {}
    for name, variable in ENVIRONMENT.items():
        values[name] = first_set(flags.get(name), environ.get(variable), file_values.get(name))
    if not values["url"]:
        dev = find_dev_stack(cwd or Path.cwd())
        values["url"] = dev.get("url")
        values["api_key"] = values["api_key"] or dev.get("api_key")
    return build_settings(values, environ)


def first_set(*candidates: Any) -> Any:
    return next((value for value in candidates if value not in (None, "")), None)


def build_settings(values: dict[str, Any], environ: Mapping[str, str]) -> Settings:
    if not values["url"]:
        raise ConfigError(
            "no API URL: pass --url, set STOWAGE_URL, write it to the config file, "
            "or run `make dev` in the stowage repository"
        )
    if not values["api_key"]:
        raise ConfigError("no API key: pass --api-key or set STOWAGE_API_KEY")
    merged = {name: first_set(values.get(name), DEFAULTS.get(name)) for name in DEFAULTS}
    return Settings(
        url=str(values["url"]).rstrip("/"),
        api_key=str(values["api_key"]),
        concurrency=positive_int("concurrency", merged["concurrency"]),
        multipart_threshold=positive_int("multipart_threshold", merged["multipart_threshold"]),
        part_size=None if merged["part_size"] is None else parse_size(merged["part_size"]),
        state_dir=Path(merged["state_dir"] or default_state_dir(environ)).expanduser(),
    )


def positive_int(name: str, value: Any) -> int:
    number = parse_size(value)
    if number < 1:
        raise ConfigError(f"{name} must be at least 1, not {value!r}")
    return number


def parse_size(value: Any) -> int:
    """An int, or a string like `8388608`, `64K`, `8M`, `1G` (powers of 1024)."""
    if isinstance(value, int):
        return value
    text = str(value).strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1024, "M": MIB, "G": 1024 * MIB}.get(text[-1:], 1)
    digits = text[:-1] if scale > 1 else text
    try:
        return int(float(digits) * scale)
    except ValueError:
        raise ConfigError(f"not a size: {value!r}") from None


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("STOWAGE_CONFIG"):
        return Path(environ["STOWAGE_CONFIG"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "stowage" / "config.toml"


def default_state_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "stowage"


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None


def find_dev_stack(start: Path) -> dict[str, Any]:
    """The `.stowage-dev.json` that `make dev` writes, in `start` or a parent."""
    for folder in [start, *start.parents]:
        candidate = folder / DEV_FILE
        if candidate.is_file():
            try:
                found: dict[str, Any] = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            return found
    return {}
