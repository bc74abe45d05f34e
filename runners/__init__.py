"""Who is measured: one runner interface for models and baselines.

``runners.registry.get_runner(name)`` returns a :class:`runners.base.Runner`.
Runners write :class:`benchmarks.atomgen.predictions.Predictions`.
"""
