"""atomgenbench: benchmark generative crystal-structure models on JARVIS AtomGenBench."""

from atomgenbench.core.versions import __version__

__all__ = ["__version__"]
