#!/usr/bin/env bash
# Reproduces this contribution with atomgenbench (https://pypi.org/project/atomgenbench once released; install from the project repository).
set -euo pipefail
pip install torch==2.13.0 && pip install 'atomgenbench[models]'
atomgenbench reproduce --preset cpu --seed 0 --models none --baselines nearest --benchmarks dft_3d_Tc_supercon,alex_supercon_Tc --out reproduce-out
