"""The runner interface every model and baseline implements.

A runner is trained with :meth:`Runner.fit` and then reconstructs test crystals of
a structure benchmark with :meth:`Runner.reconstruct`, which yields one
:class:`Reconstruction` per id, conditioned exactly as the AtomBench paper
conditions that model (see ``Runner.conditioning``). The driver
(:mod:`atomgenbench.runners.driver`, called by :func:`atomgenbench.runners.api.run`)
does everything else for every runner: writing, resuming, timing and progress.

Configuration is a named preset (``smoke``, ``cpu``, ``paper``, and any a runner adds)
merged with user overrides (CLI ``--set key=value`` or a YAML file) into a :class:`RunConfig`.
A runner's declaration (name, conditioning, presets) is checked when it is loaded
(:func:`declaration_problems`). See docs/runners.md.
"""

from __future__ import annotations

import copy
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.core.errors import did_you_mean

#: the presets every runner has (``reproduce --preset quick|cpu|paper`` uses them); a runner may add more
PRESETS = ("smoke", "cpu", "paper")

#: what each built-in conditioning label means (recorded in predictions.json); a runner may declare a
#: new label by also setting ``Runner.conditioning_description``
CONDITIONING = {
    "composition+tc": "reduced formula and T_c of the test crystal (AtomGPT)",
    "composition": "composition of the test crystal only (FlowMM)",
    "structure": "the full test crystal, encoded then decoded (CDVAE)",
    "target": "the test crystal itself (oracle sanity check)",
    "composition+train": "composition of the test crystal and the training set (baselines)",
    "train": "the training set only, nothing of the test crystal (a floor for any model)",
}


@dataclass(frozen=True)
class Reconstruction:
    """One reconstructed test crystal: ``structure`` (POSCAR text), or ``None`` and a ``failure`` reason.

    ``sample`` numbers the samples of one id: 0 … ``RunConfig.samples`` − 1.
    Exactly one of ``structure`` and ``failure`` is set, and neither is empty.
    """

    id: str
    sample: int
    structure: str | None
    failure: str | None

    def __post_init__(self) -> None:
        if (self.structure is None) == (self.failure is None) or self.structure == "" or self.failure == "":
            raise ValueError(
                f"Reconstruction {self.id!r}: set exactly one of structure (POSCAR text) and failure (a reason)"
            )

    @classmethod
    def ok(cls, identifier: str, structure: str, sample: int = 0) -> Reconstruction:
        return cls(identifier, sample, structure, None)

    @classmethod
    def failed(cls, identifier: str, reason: str, sample: int = 0) -> Reconstruction:
        return cls(identifier, sample, None, reason or "no prediction")

    @classmethod
    def from_pair(cls, identifier: str, poscar: str | None, reason: str | None, sample: int = 0) -> Reconstruction:
        """From the ``(poscar, reason)`` pairs of the decoding helpers: an empty POSCAR is a failure."""
        if poscar:
            return cls.ok(identifier, poscar, sample)
        return cls.failed(identifier, reason or "no prediction", sample)


def id_rng(seed: int, identifier: str, sample: int = 0) -> np.random.Generator:
    """A generator that depends only on (seed, id, sample), so resumed or reordered runs agree.

    Sample 0 keeps the (seed, id) stream of single-sample runs.
    """
    entropy = [int(seed), zlib.crc32(identifier.encode("utf-8"))]
    return np.random.default_rng(entropy if not sample else [*entropy, int(sample)])


def sample_seed(seed: int, key: str, sample: int) -> int:
    """A 32-bit seed that depends only on (seed, key, sample): for torch generators of samples > 0."""
    return zlib.crc32(f"{int(seed)}:{key}:s{int(sample)}".encode())


def batch_seed(seed: int, index: int) -> int:
    """The seed of batch ``index`` of :func:`fixed_batches`: ``seed`` itself for the first batch."""
    return int(seed) if index == 0 else zlib.crc32(f"{int(seed)}:batch{index}".encode())


def fixed_batches(wanted: Iterable[str], order: Sequence[str], size: int) -> Iterator[tuple[int, list[str]]]:
    """``(index, batch)`` for the batches of ``order``, cut every ``size`` ids, that hold a ``wanted`` id.

    Batches are cut from the full ``order`` (the benchmark's test ids), not from
    ``wanted``: a resumed run, which asks only for the ids still missing, computes each
    id in the same batch as an uninterrupted run, so batched models (whose float
    rounding depends on the batch) write the same bytes. Seed batch ``index`` with
    :func:`batch_seed`. Wanted ids that are not in ``order`` form further batches.
    """
    size = max(1, int(size))
    wanted = list(dict.fromkeys(wanted))
    want = set(wanted)
    known = set(order)
    index = 0
    for index, start in enumerate(range(0, len(order), size)):
        batch = list(order[start : start + size])
        if want.intersection(batch):
            yield index, batch
    extra = [i for i in wanted if i not in known]
    first = index + 1 if order else 0
    for k, start in enumerate(range(0, len(extra), size)):
        yield first + k, extra[start : start + size]


@dataclass
class TrainerOptions:
    """Options passed through to the Lightning Trainer (scale-out without code changes)."""

    accelerator: str = "cpu"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"


@dataclass
class RunConfig:
    """Everything that determines a run: model, benchmark, preset, seed and parameters."""

    model: str
    benchmark: str
    preset: str = "cpu"
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    trainer: TrainerOptions = field(default_factory=TrainerOptions)
    out_dir: Path | None = None
    progress: bool = True
    samples: int = 1  # structures per test id (``run --samples K``)

    @property
    def work_dir(self) -> Path:
        """Where checkpoints and logs go (``<out_dir>/work``)."""
        if self.out_dir is None:
            raise ValueError("RunConfig.out_dir is not set")
        return Path(self.out_dir) / "work"


class Runner(ABC):
    """Base class of every model and baseline.

    Subclasses set ``name``, ``conditioning`` (a key of :data:`CONDITIONING`, or a new
    label explained by ``conditioning_description``) and ``presets``
    (``{"smoke": {...}, "cpu": {...}, "paper": {...}}``, plus any presets of their own),
    and implement :meth:`fit` and :meth:`reconstruct`; :meth:`reconstruct_metadata` is optional.
    """

    name: str = ""
    conditioning: str = ""
    #: what a conditioning label that is not a key of :data:`CONDITIONING` means (one line, for predictions.json)
    conditioning_description: str = ""
    presets: dict[str, dict[str, Any]] = {}
    #: whether :meth:`reconstruct` yields ``config.samples`` distinct samples per id (else only sample 0)
    supports_samples: bool = False

    def resolve_params(self, preset: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Preset parameters with ``overrides`` applied; unknown keys are an error."""
        if preset not in self.presets:
            hint = did_you_mean(str(preset), self.presets)
            raise ValueError(f"{self.name}: unknown preset {preset!r}{hint}; choose from {sorted(self.presets)}")
        params = copy.deepcopy(self.presets[preset])
        for key, value in (overrides or {}).items():
            if key not in params:
                raise ValueError(
                    f"{self.name}: unknown parameter {key!r} for preset {preset!r}; "
                    f"known: {', '.join(sorted(params)) or '(none: this model has no parameters)'}"
                )
            params[key] = value
        return params

    @abstractmethod
    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        """Train on ``data``'s training split; return the checkpoint path.

        Must resume from ``config.work_dir`` when a partial run is there.
        """

    @abstractmethod
    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        """Yield one :class:`Reconstruction` per id of ``ids`` (default: every test id), as each finishes.

        A runner with ``supports_samples`` yields samples 0 … ``config.samples`` − 1 of each id,
        each seeded from (seed, id, sample) (:func:`id_rng`), so a sample does not depend on the
        other samples, the order or the resume point.

        A failure is a record with a reason, never a missing one. The structure of an
        id must not depend on which other ids are asked for (the driver asks a resumed
        run for the missing ids only): seed per id (:func:`id_rng`) or per fixed batch
        (:func:`fixed_batches`).
        """

    def snapshot_checkpoint(self, snapshot: Path, config: RunConfig) -> Path:
        """The checkpoint that :meth:`reconstruct` reads for a learning-curve ``snapshot``
        (a weights-only Lightning checkpoint written during :meth:`fit`, see
        ``atomgenbench.runners.training.snapshots``), called after the fit has finished.
        Default: the snapshot itself, for runners whose ``fit`` returns a Lightning checkpoint."""
        return snapshot

    def reconstruct_metadata(self, checkpoint: Path, config: RunConfig) -> dict[str, Any]:
        """The runner's own settings for ``predictions.json`` ``extra`` (sampler, model size...).

        Computed from the checkpoint and the config, not from a reconstruction session,
        so a resumed run records the same values. Default: nothing.
        """
        return {}


def describe_conditioning(runner: Runner | type[Runner]) -> str:
    """What ``runner.conditioning`` means: the built-in description, else the runner's own."""
    return CONDITIONING.get(runner.conditioning) or str(getattr(runner, "conditioning_description", "") or "")


def declaration_problems(runner: Runner | type[Runner]) -> list[str]:
    """What is wrong with a runner's class attributes (``name``, ``conditioning``, ``presets``); empty if nothing.

    The registry calls it when it loads a runner, and :func:`atomgenbench.runners.api.run` for a
    :class:`Runner` instance, so a bad declaration fails before any work, naming the runner.
    """
    problems = []
    name, conditioning = getattr(runner, "name", ""), getattr(runner, "conditioning", "")
    if not isinstance(name, str) or not name:
        problems.append("`name` must be a non-empty string")
    own = getattr(runner, "conditioning_description", "")
    if not isinstance(conditioning, str) or not conditioning:
        problems.append("`conditioning` must be a non-empty string (what the model sees of a test crystal)")
    elif conditioning in CONDITIONING and own and own != CONDITIONING[conditioning]:
        problems.append(
            f"conditioning {conditioning!r} is built in ({CONDITIONING[conditioning]}); "
            "`conditioning_description` is only for a new label"
        )
    elif conditioning not in CONDITIONING and not (isinstance(own, str) and own.strip()):
        problems.append(
            f"conditioning {conditioning!r} is not one of {', '.join(CONDITIONING)}; "
            "a new label needs `conditioning_description` (one line: what the model sees of a test crystal)"
        )
    presets = getattr(runner, "presets", None)
    if not isinstance(presets, dict) or not all(isinstance(v, dict) for v in presets.values()):
        problems.append("`presets` must map preset names to parameter dicts")
    elif missing := [p for p in PRESETS if p not in presets]:
        have = ", ".join(PRESETS)
        problems.append(f"`presets` lacks {', '.join(missing)} (every runner has {have}; more may be added)")
    return problems
