"""YAML from users' files (metadata, run parameters) without alias expansion.

PyYAML's ``safe_load`` runs no code, but it resolves anchors and aliases: nine lines of
nested aliases (the "billion laughs") become hundreds of millions of strings once anything
walks or serialises the result. ``package --metadata`` drove the machine to 23 GB and the
out-of-memory killer on such a file. Metadata and parameters have no use for aliases, so
they are refused before parsing.
"""

from __future__ import annotations

from typing import Any


class YAMLAliasError(ValueError):
    """The text uses a YAML alias (``*name``)."""


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` after refusing any alias; YAML syntax errors raise ``yaml.YAMLError``."""
    import yaml

    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AliasToken):
            line = token.start_mark.line + 1
            raise YAMLAliasError(f"line {line}: YAML aliases (*{token.value}) are not allowed here")
    return yaml.safe_load(text)
