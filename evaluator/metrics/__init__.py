"""The metric registry, the result types, and the computation of a result from scored pairs.

:mod:`registry` holds one entry per metric (name, family, direction, unit, denominator,
definition); :mod:`results` the typed results and their one JSON form; :mod:`evaluate`
computes an :class:`~results.EvaluationResult` from predictions, and :mod:`compare` the paired
comparison of several.

May import: :mod:`atomgenbench.evaluator.inputs`, :mod:`atomgenbench.evaluator.scoring`, and below.
"""
