"""Run configuration helpers: ``--set key=value`` parsing, YAML override files, config hashes.

Precedence (lowest to highest): the runner's preset, the YAML file, ``--set`` pairs.
A YAML file is a mapping of parameter names to values; it may also nest them under
``params:`` (other top-level keys are then rejected so typos do not pass silently).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from atomgenbench.core.errors import ConfigError
from atomgenbench.core.yaml_text import YAMLInputError, load_yaml
from atomgenbench.runners.base import RunConfig


def parse_scalar(text: str) -> Any:
    """A ``--set`` value as a YAML scalar (``3`` -> int, ``1e-3`` -> float, ``true`` -> bool, ``null`` -> None)."""
    try:
        value = load_yaml(text)
    except (yaml.YAMLError, YAMLInputError) as exc:
        raise ConfigError(f"cannot parse value {text!r} as YAML ({exc})") from None
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string; numbers should be numbers
        try:
            return float(value) if any(ch in value for ch in ".eE") else value
        except ValueError:
            return value
    return value


def parse_set_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["lr=1e-3", "epochs=2"]`` -> ``{"lr": 0.001, "epochs": 2}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        out[key] = parse_scalar(value)
    return out


def load_yaml_overrides(path: str | Path) -> dict[str, Any]:
    """Parameter overrides from a YAML file (flat mapping, or nested under ``params:``)."""
    path = Path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (yaml.YAMLError, YAMLInputError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML (nested too deeply)") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of parameter names to values, got {type(data).__name__}")
    if "params" in data:
        extra = sorted(set(data) - {"params"})
        if extra:
            raise ConfigError(f"{path}: with a 'params:' section no other top-level keys are allowed, found {extra}")
        data = data["params"] or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: 'params' must be a mapping")
    return {str(k): v for k, v in data.items()}


def merge_overrides(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Later layers win."""
    out: dict[str, Any] = {}
    for layer in layers:
        out.update(layer or {})
    return out


def config_fingerprint(config: RunConfig) -> dict[str, Any]:
    """What determines a run's outputs (trainer/hardware options are deliberately excluded)."""
    return {
        "model": config.model,
        "benchmark": config.benchmark,
        "preset": config.preset,
        "seed": int(config.seed),
        "params": config.params,
        **({"samples": int(config.samples)} if int(config.samples) > 1 else {}),  # K = 1: the hash of older runs
    }


def config_hash(config: RunConfig) -> str:
    """Stable sha256 (first 16 hex digits) of :func:`config_fingerprint`."""
    blob = json.dumps(config_fingerprint(config), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
