"""The ``ps-train`` application: the command line, its method and env registry, training runs,
run directories (data-only files) and figures.

Modules: :mod:`ps_toolkit.cli` (``ps-train``), :mod:`ps_toolkit.registry` (methods, algorithms,
envs), :mod:`ps_toolkit.training` (one run), :mod:`ps_toolkit.budget` (the steps a run trains),
:mod:`ps_toolkit.validation` (checks before training), :mod:`ps_toolkit.runs` (save and load a run
directory), :mod:`ps_toolkit.plots` (figures). The library itself is :mod:`ps_wrappers`,
:mod:`policies` and :mod:`integrations`.
"""

__all__: list[str] = []
