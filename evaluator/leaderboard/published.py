"""Numbers the live JARVIS-Leaderboard publishes for the AtomBench authors' runs.

Source: the leaderboard docs at atomgptlab/jarvis_leaderboard@7fbfa84a (see
``atomgenbench.core.versions.LEADERBOARD_REVISION``). RMSE is the leaderboard's matched-only
``get_rms_dist`` mean (dimensionless); MAE is over the raw, unreduced jarvis lattice
parameters (Å, °). The leaderboard computed them in its CI environment
(:data:`PUBLISHED_ENVIRONMENT`); it never shows match counts, so they are recomputed
from the contributions' own files:

* ``n_matched_leaderboard_env``: in the pinned leaderboard environment
  (``--leaderboard-env``), where every published RMSE reproduces exactly;
* ``n_matched``: with a current pymatgen (2026.10), where AtomGPT's two files give
  0.1001 (31 matched) and 0.0486 (421) instead of the published 0.1095 (32) and
  0.0476 (420) (``rmse_current``; docs/leaderboard-env.md). CDVAE and FlowMM are the
  same in both environments.
"""

from __future__ import annotations

from atomgenbench.core.versions import LEADERBOARD_COMMIT, LEADERBOARD_ENV_TEXT, LEADERBOARD_REPO

PUBLISHED_SOURCE = f"JARVIS-Leaderboard docs, {LEADERBOARD_REPO}@{LEADERBOARD_COMMIT[:8]}"
PUBLISHED_ENVIRONMENT = f"leaderboard CI: {LEADERBOARD_ENV_TEXT}"

#: benchmark -> contribution -> {"rmse", "n_matched", "n_matched_leaderboard_env", "mae": {param: value}, ...}
PUBLISHED: dict[str, dict[str, dict]] = {
    "dft_3d_Tc_supercon": {
        "atomgpt_invatoms": {
            "rmse": 0.1095,
            "n_matched": 31,
            "n_matched_leaderboard_env": 32,
            "rmse_current": 0.1001,
            "n_total": 105,
            "mae": {"a": 0.6378, "b": 0.6137, "c": 0.9914, "alpha": 11.2381, "beta": 12.0667, "gamma": 20.2},
        },
        "cdvae_invatoms": {
            "rmse": 0.3734,
            "n_matched": 44,
            "n_matched_leaderboard_env": 44,
            "rmse_current": 0.3734,
            "n_total": 105,
            "mae": {"a": 0.4899, "b": 0.2919, "c": 0.6394, "alpha": 7.8458, "beta": 5.1137, "gamma": 11.4844},
        },
        "flowmm_invatoms": {
            "rmse": 0.3211,
            "n_matched": 5,
            "n_matched_leaderboard_env": 5,
            "rmse_current": 0.3211,
            "n_total": 105,
            "mae": {"a": 0.8856, "b": 0.8899, "c": 1.6954, "alpha": 18.3376, "beta": 18.1386, "gamma": 22.5358},
        },
    },
    "alex_supercon_Tc": {
        "atomgpt_invatoms": {
            "rmse": 0.0476,
            "n_matched": 421,
            "n_matched_leaderboard_env": 420,
            "rmse_current": 0.0486,
            "n_total": 825,
            "mae": {"a": 0.4821, "b": 0.5395, "c": 0.9869, "alpha": 11.3152, "beta": 10.1406, "gamma": 11.2958},
        },
        "cdvae_invatoms": {
            "rmse": 0.4203,
            "n_matched": 292,
            "n_matched_leaderboard_env": 292,
            "rmse_current": 0.4203,
            "n_total": 825,
            "mae": {"a": 0.3137, "b": 0.2798, "c": 0.3671, "alpha": 8.1802, "beta": 6.8199, "gamma": 6.4951},
        },
        "flowmm_invatoms": {
            "rmse": 0.383,
            "n_matched": 66,
            "n_matched_leaderboard_env": 66,
            "rmse_current": 0.383,
            "n_total": 825,
            "mae": {"a": 1.003, "b": 1.0046, "c": 1.8027, "alpha": 22.3592, "beta": 21.3564, "gamma": 23.5054},
        },
    },
}


def published_rows(benchmark: str) -> list[dict]:
    """The published rows of a structure benchmark, each labelled with the environment it comes from."""
    rows = []
    for name, p in PUBLISHED.get(benchmark, {}).items():
        n = p["n_matched_leaderboard_env"]
        rows.append(
            {
                "contribution": name,
                "rmse": p["rmse"],
                "n_matched": n,
                "n_total": p["n_total"],
                "match_rate": round(n / p["n_total"], 4),
                "mae_raw": dict(p["mae"]),
                "environment": PUBLISHED_ENVIRONMENT,
                "source": PUBLISHED_SOURCE,
                "current_env": {"rmse": p["rmse_current"], "n_matched": p["n_matched"]},
            }
        )
    return rows


def published_lines(benchmark: str) -> list[str]:
    """Plain-text lines for CLIs: ``published atomgpt_invatoms  RMSE 0.1095 (32/105 matched)``."""
    rows = published_rows(benchmark)
    if not rows:
        return []
    out = [f"Published leaderboard rows for {benchmark} ({PUBLISHED_SOURCE}; {PUBLISHED_ENVIRONMENT}):"]
    for r in rows:
        current = r["current_env"]
        differs = current["rmse"] != r["rmse"] or current["n_matched"] != r["n_matched"]
        note = f"; a current pymatgen gives {current['rmse']:.4f} ({current['n_matched']})" if differs else ""
        out.append(
            f"  published {r['contribution']:<18} RMSE {r['rmse']:.4f} ({r['n_matched']}/{r['n_total']} matched{note})"
        )
    return out
