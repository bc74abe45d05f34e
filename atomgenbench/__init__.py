"""atomgenbench: benchmark generative crystal-structure models on JARVIS AtomGenBench."""

from atomgenbench.versions import __version__

__all__ = ["__version__"]
