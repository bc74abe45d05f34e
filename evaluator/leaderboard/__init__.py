"""What the JARVIS-Leaderboard computes, in this environment or in its pinned one.

Holds the contribution file rules (:mod:`contribution`), the metadata and its JSON Schema
(:mod:`metadata`, ``metadata.schema.json``), the leaderboard's own score of a file
(:mod:`score`), the pinned-environment scorer (:mod:`pinned_env`, :mod:`_pinned_scorer`) and the
published numbers (:mod:`published`).

May import: :mod:`atomgenbench.evaluator.inputs`, :mod:`atomgenbench.evaluator.scoring`, and below.
"""
