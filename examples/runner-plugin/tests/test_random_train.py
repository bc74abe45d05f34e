"""The plugin keeps the runner contract: atomgenbench's own check, on a slice of dft_3d_Tc_supercon.

Run from this folder with ``pytest`` (``ATOMGENBENCH_DATA`` pointing at a data copy, or
network access for the first download).
"""

from random_train_runner import RandomTrainRunner

from atomgenbench.runners import check_runner


def test_random_train_keeps_the_runner_contract(tmp_path):
    report = check_runner(RandomTrainRunner(), workdir=tmp_path)
    # a "train" runner: its predictions must not change when the test crystals do
    assert "conditioning" in report.passed and not report.skipped
