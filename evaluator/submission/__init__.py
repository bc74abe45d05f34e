"""Our folder for the leaderboard: package, validate, submit, and the GitHub Action.

:mod:`package` writes a contribution folder, :mod:`rules` and :mod:`validate` check one strictly,
:mod:`submit` opens the pull request, :mod:`action` is the entry point of the root action.yml.

May import: :mod:`atomgenbench.evaluator.leaderboard` and everything below it.
"""
