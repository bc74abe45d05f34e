"""The quality families: ccRMSD (AMD), structural and compositional validity, symmetry agreement."""

from __future__ import annotations

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.evaluator.metrics.base import (
    HIGHER,
    LOWER,
    NAN,
    SYMBOL,
    Metric,
    Rows,
    _mean_where,
    _n_all,
    _n_finite,
    _rate,
    _root_mean_square,
)
from atomgenbench.evaluator.scoring.ccrmsd import AMD_K, LEGACY_TAU
from atomgenbench.evaluator.scoring.lattice import UNITS


def _amd(rows: Rows) -> np.ndarray:
    return rows.amd_distance


def _amd_capped(rows: Rows) -> np.ndarray:
    return np.minimum(rows.amd_distance, rows.ccrmsd_tau)


def _ccrmsd_metrics() -> list[Metric]:
    """ccRMSD on AMD vectors, and its capped legacy form."""
    amd_formula = "d_i = max_j |AMD_k(pred_i)_j − AMD_k(target_i)_j| (L∞, Å) of the Niggli-reduced cells, k = amd_k; "
    out = [
        Metric(
            "ccrmsd",
            f"ccRMSD (AMD, k = {AMD_K})",
            "Å",
            "parsed pairs (prediction and target both parse)",
            LOWER,
            amd_formula + "ccRMSD = sqrt(mean_i d_i²); no matching",
            _root_mean_square(_amd),
            _n_finite("amd_distance"),
            ("amd_k",),
            population=lambda rows: np.isfinite(rows.amd_distance),
            info={"amd_k": AMD_K, "package": "average-minimum-distance (import amd)"},
        ),
        Metric(
            "ccrmsd_legacy",
            f"ccRMSE, capped at τ = {LEGACY_TAU} (legacy)",
            "Å",
            "parsed pairs (prediction and target both parse)",
            LOWER,
            amd_formula + "ccRMSE = sqrt(mean_i min(d_i, τ)²) (the authors' compute_metrics.py before bbfce44)",
            _root_mean_square(_amd_capped),
            _n_finite("amd_distance"),
            ("amd_k", "ccrmsd_legacy_tau"),
            population=lambda rows: np.isfinite(rows.amd_distance),
            info={"amd_k": AMD_K, "tau": LEGACY_TAU, "legacy": True},
            legacy=True,
        ),
    ]
    return out


def _validity_metrics() -> list[Metric]:
    """Structural, compositional and joint validity of the predictions and of the targets."""
    out = []
    checks = {
        "structural": ("structural validity", "all distances ≥ 0.5 Å (periodic images included) and volume ≥ 0.1 Å³"),
        "composition": ("composition validity", "SMACT charge neutrality + Pauling electronegativity test (CDVAE)"),
        "both": ("structural and composition validity", "both of the above"),
    }
    for side, attr, who, over, compare in (
        ("validity", "valid", "predictions", "all test ids (a missing or unparseable prediction is invalid)", True),
        ("validity_target", "target_valid", "targets", "all test ids (the benchmark's own structures)", False),
    ):
        for key, (label, rule) in checks.items():

            def flags(rows: Rows, attr=attr, key=key) -> np.ndarray:
                v = getattr(rows, attr)
                return v["structural"] & v["composition"] if key == "both" else v[key]

            out.append(
                Metric(
                    f"{side}.{key}",
                    f"{label}{'' if compare else ' of the targets'}",
                    "fraction",
                    over,
                    HIGHER,
                    f"fraction of test ids whose {who} pass: {rule}",
                    _rate(flags),
                    _n_all,
                    ("validity",),
                    ci=compare,
                    compare=compare,
                )
            )
    return out


def _symmetry_metrics() -> list[Metric]:
    """Space-group and crystal-system agreement, and the lattice MAE within the same crystal system."""
    out = [
        Metric(
            "symmetry.spacegroup",
            "space-group agreement",
            "fraction",
            "all test ids (a missing or unparseable prediction disagrees)",
            HIGHER,
            "fraction of test ids whose prediction has the target's space-group number "
            "(SpacegroupAnalyzer, symprec, both on the cell as given)",
            _rate(lambda rows: rows.same_spacegroup),
            _n_all,
            ("symprec", "symmetry"),
        ),
        Metric(
            "symmetry.crystal_system",
            "crystal-system agreement",
            "fraction",
            "all test ids (a missing or unparseable prediction disagrees)",
            HIGHER,
            "fraction of test ids whose prediction has the target's crystal system (from the space groups)",
            _rate(lambda rows: rows.same_crystal_system),
            _n_all,
            ("symprec", "symmetry"),
        ),
    ]
    for j, p in enumerate(LATTICE_PARAMS):
        out.append(
            Metric(
                f"mae_same_system.{p}",
                f"Niggli MAE {SYMBOL[p]}, same crystal system",
                UNITS[p],
                "parsed pairs whose predicted crystal system equals the target's",
                LOWER,
                "mean |pred − target| of the Niggli-reduced parameter over those pairs",
                _mean_where(lambda rows, j=j: np.where(rows.same_crystal_system, rows.abs_errors("niggli")[:, j], NAN)),
                lambda rows: int((rows.same_crystal_system & rows.pairs("niggli")).sum()),
                ("lattice_reduction", "symprec"),
                population=lambda rows: rows.same_crystal_system & rows.pairs("niggli"),
            )
        )
    return out


def _packaged_metrics() -> list[Metric]:
    """The raw-cell MAE of the packaged lattice files, placeholders included."""
    out = []
    for j, p in enumerate(LATTICE_PARAMS):
        out.append(
            Metric(
                f"mae_raw_packaged.{p}",
                f"raw-cell MAE {SYMBOL[p]}, as packaged (placeholders included)",
                UNITS[p],
                "all test ids; a row without a parsed prediction counts with the placeholder cell "
                "(1 Å, 90°) that `package --fill-failures` writes",
                LOWER,
                "mean |pred − target| of the unreduced jarvis parameter, what the leaderboard's lattice file scores",
                _mean_where(
                    lambda rows, j=j: np.abs(rows.raw_pred_packaged[:, j] - rows.raw_target[:, j]),
                ),
                lambda rows: int(np.isfinite(rows.raw_target).all(axis=1).sum()),
                compare=False,
            )
        )
    return out


def quality_metrics() -> list[Metric]:
    """The quality families, in registry order."""
    return _ccrmsd_metrics() + _validity_metrics() + _symmetry_metrics() + _packaged_metrics()
