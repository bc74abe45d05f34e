"""Name -> runner class: the built-in runners and third-party plugins.

Built-in runners are listed in :data:`BUILTIN` and imported lazily (the baselines work
without torch). A third-party package adds a runner without forking atomgenbench by
declaring an entry point in the group ``atomgenbench.runners``::

    [project.entry-points."atomgenbench.runners"]
    my-model = "my_package.runner:MyRunner"

after which ``atomgenbench run my-model ...`` works and ``atomgenbench run --list``
shows it. A built-in name always wins over a plugin of the same name (with a warning),
and a plugin that fails to import, or whose declaration is wrong (an unknown conditioning
without a ``conditioning_description``, a missing standard preset:
:func:`atomgenbench.runners.base.declaration_problems`), is reported by name without
hiding the others.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points

from atomgenbench.core.errors import RunError, UsageError, did_you_mean
from atomgenbench.runners.base import Runner, declaration_problems

ENTRY_POINT_GROUP = "atomgenbench.runners"

#: built-in runners: name -> "module:Class"
BUILTIN: dict[str, str] = {
    "oracle": "atomgenbench.runners.baselines.oracle:OracleRunner",
    "prior": "atomgenbench.runners.baselines.prior:PriorRunner",
    "nearest": "atomgenbench.runners.baselines.nearest:NearestRunner",
    "template": "atomgenbench.runners.template.runner:TemplateRunner",
    "atomgpt": "atomgenbench.runners.atomgpt.runner:AtomGPTRunner",
    "cdvae": "atomgenbench.runners.cdvae.runner:CDVAERunner",
    "flowmm": "atomgenbench.runners.flowmm.runner:FlowMMRunner",
}

log = logging.getLogger("atomgenbench")
_warned: set[str] = set()


@dataclass(frozen=True)
class RunnerEntry:
    """Where a runner comes from: ``origin`` is ``built-in`` or the distribution that declares it."""

    name: str
    target: str
    origin: str


def plugin_entries() -> dict[str, RunnerEntry]:
    """Runners declared by installed distributions in the ``atomgenbench.runners`` group."""
    found: dict[str, RunnerEntry] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "an installed package"
        if ep.name in BUILTIN:
            if ep.name not in _warned:  # once per process, not on every lookup
                _warned.add(ep.name)
                log.warning(f"runner plugin {ep.name!r} from {dist} has the name of a built-in runner and is ignored")
            continue
        if ep.name in found and found[ep.name].target != ep.value and ep.name not in _warned:
            _warned.add(ep.name)
            log.warning(f"runner plugin {ep.name!r} is declared by {found[ep.name].origin} and {dist}; using {dist}")
        found[ep.name] = RunnerEntry(ep.name, ep.value, dist)
    return found


def available() -> dict[str, RunnerEntry]:
    """Every runner, built-in first, then plugins in name order."""
    entries = {name: RunnerEntry(name, target, "built-in") for name, target in BUILTIN.items()}
    entries.update(dict(sorted(plugin_entries().items())))
    return entries


def load_runner_class(entry: RunnerEntry) -> type[Runner]:
    """Import the class an entry names and check its declaration; a broken one is a :class:`RunError` naming it."""
    module_name, _, attr = entry.target.partition(":")
    if entry.origin == "built-in":
        return _checked(entry, getattr(importlib.import_module(module_name), attr))
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # a plugin's own bug must not look like ours
        raise RunError(
            f"runner plugin {entry.name!r} ({entry.target}, from {entry.origin}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Runner)):
        raise RunError(
            f"runner plugin {entry.name!r} ({entry.target}, from {entry.origin}) is not a subclass of "
            "atomgenbench.runners.base.Runner"
        )
    return _checked(entry, cls)


def _checked(entry: RunnerEntry, cls: type[Runner]) -> type[Runner]:
    problems = declaration_problems(cls)
    if problems:
        where = "built-in runner" if entry.origin == "built-in" else "runner plugin"
        raise RunError(f"{where} {entry.name!r} ({entry.target}, from {entry.origin}): " + "; ".join(problems))
    return cls


def find(name: str) -> RunnerEntry:
    """The entry of the runner called ``name``, without importing it; unknown: :class:`UsageError`."""
    entries = available()
    entry = entries.get(name)
    if entry is None:
        raise UsageError(
            f"unknown model {name!r}{did_you_mean(name, entries)}; choose from {', '.join(entries)} "
            "(`atomgenbench run --list` shows them)"
        )
    return entry


def get_runner(name: str) -> Runner:
    """Instantiate the runner called ``name`` (built-in or plugin)."""
    return load_runner_class(find(name))()


def describe() -> list[dict[str, str]]:
    """One row per runner for ``run --list``: name, origin, conditioning, presets (or why it cannot load)."""
    rows = []
    for entry in available().values():
        try:
            cls = load_runner_class(entry)
        except ModuleNotFoundError as exc:  # a built-in model without its optional extra (torch)
            rows.append(
                {
                    "name": entry.name,
                    "origin": entry.origin,
                    "conditioning": "?",
                    "presets": f"(needs {exc.name}: pip install 'atomgenbench[models]')",
                }
            )
            continue
        except RunError as exc:
            rows.append({"name": entry.name, "origin": entry.origin, "conditioning": "?", "presets": str(exc)})
            continue
        rows.append(
            {
                "name": entry.name,
                "origin": entry.origin,
                "conditioning": cls.conditioning,
                "presets": ", ".join(cls.presets),
            }
        )
    return rows
