"""Importers: official AtomGPT / CDVAE / FlowMM outputs -> standardized predictions keyed by benchmark ids.

* :func:`runners.importers.cdvae.import_cdvae` - ``eval_recon.pt`` + ``test.csv``
* :func:`runners.importers.flowmm.import_flowmm` - ``consolidated_reconstruct.pt`` + ``test.csv``
* :func:`runners.importers.atomgpt.import_atomgpt` - benchmark CSV (+ ``.misses.csv``) or ``out_inv.json``

``.pt`` files are read by :func:`runners.importers.safe_pickle.load_pt`, which never
executes pickled code unless the caller explicitly trusts the file.
"""

from runners.importers.common import ImportFormatError  # noqa: F401
from runners.importers.safe_pickle import UnsafeFileError  # noqa: F401
