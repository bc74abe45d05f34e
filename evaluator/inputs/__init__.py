"""Everything a generator writes, read into (id, sample, POSCAR) items.

Holds the input formats (leaderboard CSVs, predictions.csv/json, CIF/POSCAR folders, extxyz,
ASE databases) and :func:`load.load_predictions`, plus the one rule that names a model after
its file path (:func:`load.model_label`).

May import: :mod:`atomgenbench.benchmarks`, :mod:`atomgenbench.core`. Nothing else in the evaluator.
"""
