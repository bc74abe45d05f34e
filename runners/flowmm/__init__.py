"""Clean-room FlowMM: Riemannian flow matching for composition-conditioned crystal structure prediction.

Written from the published method only (see ``shared/docs/model_reference.md`` §5.3);
no code from the CC-BY-NC FlowMM / riemannian-fm / flow_matching packages is used.

Modules: ``geometry`` (flat torus, lattice 6-vector and angle map, lattice base),
``data`` (Niggli-canonical crystals, graph batches), ``network`` (CSPNet-style
velocity network), ``flow`` (conditional paths, loss, standardisation, Euler
sampler), ``lightning`` (LightningModule, EMA callback), ``runner`` (FlowMMRunner
and its ``smoke``/``cpu``/``paper`` presets).
"""
