"""Who is measured: one runner interface for models, baselines and plugins.

``atomgenbench.runners.registry.get_runner(name)`` returns a :class:`~atomgenbench.runners.base.Runner`
(built-in, or a plugin of the entry-point group ``atomgenbench.runners``). Its
``reconstruct`` yields :class:`Reconstruction` records; the one driver
(:func:`atomgenbench.runners.api.run`) writes them as
:class:`atomgenbench.benchmarks.atomgen.predictions.Predictions`, resumably. See docs/runners.md.
"""

from atomgenbench.runners.base import Reconstruction

__all__ = ["Reconstruction"]
