#!/usr/bin/env bash
# Reproduces this contribution with atomgenbench (https://pypi.org/project/atomgenbench once released; install from the project repository).
set -euo pipefail
pip install torch==2.13.0 && pip install 'atomgenbench[models]'
# Run it from any folder: it writes runs/ and reproduced/ there.
HERE="$(cd "$(dirname "$0")" && pwd)"
atomgenbench data fetch --all
# dft_3d_Tc_supercon: template, preset cpu, seed 0
# every parameter of the run, as recorded in its predictions.json
cat > run-dft_3d_Tc_supercon.yaml <<'EOF'
{
  "params": {
    "candidates": 12,
    "gate": true,
    "grid": [
      {
        "l2_regularization": 1.0,
        "learning_rate": 0.05,
        "max_iter": 300,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20
      },
      {
        "l2_regularization": 1.0,
        "learning_rate": 0.05,
        "max_iter": 200,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 40
      },
      {
        "l2_regularization": 0.0,
        "learning_rate": 0.1,
        "max_iter": 150,
        "max_leaf_nodes": 63,
        "min_samples_leaf": 20
      },
      {
        "l2_regularization": 3.0,
        "learning_rate": 0.03,
        "max_iter": 500,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 10
      }
    ],
    "label_queries": -1,
    "val_fraction": 0.2,
    "workers": 2
  }
}
EOF
atomgenbench run template --benchmark dft_3d_Tc_supercon --preset cpu --seed 0 --config run-dft_3d_Tc_supercon.yaml --out runs/dft_3d_Tc_supercon
# alex_supercon_Tc: template, preset cpu, seed 0
# every parameter of the run, as recorded in its predictions.json
cat > run-alex_supercon_Tc.yaml <<'EOF'
{
  "params": {
    "candidates": 12,
    "gate": true,
    "grid": [
      {
        "l2_regularization": 1.0,
        "learning_rate": 0.05,
        "max_iter": 300,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20
      },
      {
        "l2_regularization": 1.0,
        "learning_rate": 0.05,
        "max_iter": 200,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 40
      },
      {
        "l2_regularization": 0.0,
        "learning_rate": 0.1,
        "max_iter": 150,
        "max_leaf_nodes": 63,
        "min_samples_leaf": 20
      },
      {
        "l2_regularization": 3.0,
        "learning_rate": 0.03,
        "max_iter": 500,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 10
      }
    ],
    "label_queries": -1,
    "val_fraction": 0.2,
    "workers": 2
  }
}
EOF
atomgenbench run template --benchmark alex_supercon_Tc --preset cpu --seed 0 --config run-alex_supercon_Tc.yaml --out runs/alex_supercon_Tc
atomgenbench package --dft-3d runs/dft_3d_Tc_supercon --alex runs/alex_supercon_Tc --out reproduced/atomgenbench-template-cpu --force --metadata "$HERE/metadata.json"
