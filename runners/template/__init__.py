"""``template``: learned template selection over nearest's candidates (runners/template/runner.py)."""
