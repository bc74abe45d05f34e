"""YAML from users' files (metadata, run parameters) without alias expansion.

PyYAML's ``safe_load`` runs no code, but it resolves anchors and aliases: nine lines of
nested aliases (the "billion laughs") become hundreds of millions of strings once anything
walks or serialises the result. ``package --metadata`` drove the machine to 23 GB and the
out-of-memory killer on such a file. Metadata and parameters have no use for aliases, so
they are refused before parsing. So are files over 1 MiB and brackets nested more than 64 deep:
PyYAML's scanner is quadratic in flow nesting (100,000 levels, 200 KB, took 30 s to scan).
"""

from __future__ import annotations

from typing import Any

MAX_YAML_BYTES = 1024 * 1024
MAX_FLOW_DEPTH = 64


class YAMLInputError(ValueError):
    """Refused before parsing: a YAML alias (``*name``), over the size limit, or brackets nested too deeply."""


def _flow_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` (counted in quoted text too, an upper bound)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` after refusing any alias; YAML syntax errors raise ``yaml.YAMLError``."""
    import yaml

    if len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise YAMLInputError(f"over the {MAX_YAML_BYTES:,}-byte limit for a YAML file")
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise YAMLInputError(f"brackets nested more than {MAX_FLOW_DEPTH} deep")
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AliasToken):
            line = token.start_mark.line + 1
            raise YAMLInputError(f"line {line}: YAML aliases (*{token.value}) are not allowed here")
    return yaml.safe_load(text)
