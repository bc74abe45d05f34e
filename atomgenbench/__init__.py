"""atomgenbench: benchmark generative crystal-structure models on JARVIS AtomGenBench."""

__version__ = "0.1.0"
