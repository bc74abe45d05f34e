"""One pair at a time: matching, reduced cells, symmetry, AMD, validity, statistics.

Holds the pymatgen StructureMatcher decisions (:mod:`matching`, :mod:`rms`), the per-benchmark
target cache (:mod:`targets`), Niggli and raw lattice parameters (:mod:`lattice`), space groups
(:mod:`symmetry`), the AMD ccRMSD distance (:mod:`ccrmsd`), SMACT/distance validity
(:mod:`validity`) and the bootstrap and KLD statistics (:mod:`stats`).

May import: only :mod:`atomgenbench.benchmarks` and :mod:`atomgenbench.core`.
"""
