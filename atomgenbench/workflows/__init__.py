"""Whole jobs made of the parts below: evaluate or compare into a result folder, reproduce.

May import: :mod:`atomgenbench.runners`, :mod:`atomgenbench.evaluator` and below; never the CLI.
"""
