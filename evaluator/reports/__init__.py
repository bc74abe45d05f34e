"""Presentation: report.md, paper tables, figures, summaries and the environment section.

Nothing here computes a number; it renders results from :mod:`atomgenbench.evaluator.metrics`
and :mod:`atomgenbench.evaluator.leaderboard`.

May import: every evaluator subpackage except :mod:`atomgenbench.evaluator.submission`.
"""
