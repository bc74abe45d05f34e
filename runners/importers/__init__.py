"""Importers: official AtomGPT / CDVAE / FlowMM outputs -> standardized predictions keyed by benchmark ids.

* :func:`atomgenbench.runners.importers.cdvae.import_cdvae` - ``eval_recon.pt`` + ``test.csv``
* :func:`atomgenbench.runners.importers.flowmm.import_flowmm` - ``consolidated_reconstruct.pt`` + ``test.csv``
* :func:`atomgenbench.runners.importers.atomgpt.import_atomgpt` - benchmark CSV (+ ``.misses.csv``) or ``out_inv.json``

``.pt`` files are read by :func:`atomgenbench.runners.importers.safe_pickle.load_pt`, which never
executes pickled code unless the caller explicitly trusts the file.
"""

from atomgenbench.runners.importers.common import ImportFormatError  # noqa: F401
from atomgenbench.runners.importers.safe_pickle import UnsafeFileError  # noqa: F401
