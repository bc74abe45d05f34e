"""Who is measured: one runner interface for models and baselines.

``atomgenbench.runners.registry.get_runner(name)`` returns a :class:`atomgenbench.runners.base.Runner`.
Runners write :class:`atomgenbench.benchmarks.atomgen.predictions.Predictions`.
"""
