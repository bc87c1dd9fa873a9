"""snnsim's exceptions.

Every error snnsim raises is an ``SnnsimError``; each kind also derives from the built-in
class a Python user would catch for it, so ``except ValueError`` catches a bad graph file and
``except RuntimeError`` a failed run. A missing file is Python's own ``FileNotFoundError``.
"""


class SnnsimError(Exception):
    """Base class of snnsim's errors."""


class GraphFileError(SnnsimError, ValueError):
    """A graph file is malformed or invalid.

    Attributes: ``file``, ``line`` and ``col`` (1-based), ``field`` (the field path, as
    ``projections[2].connectivity.FixedProbability.p``) and ``reason`` (what is wrong).
    """

    file = None
    line = None
    col = None
    field = None
    reason = None


class InputError(SnnsimError, ValueError):
    """A bad argument: an unknown population, a value out of range, a refused checkpoint."""


class PluginError(SnnsimError):
    """A plugin could not be loaded, rejected its parameters, failed or panicked.

    Attributes: ``plugin`` (its name) and ``kind`` (``NotFound``, ``AbiMismatch``,
    ``Params``, ``Failed``, ...).
    """

    plugin = None
    kind = None


class SimulationError(SnnsimError, RuntimeError):
    """The simulation failed while running."""


__all__ = [
    "SnnsimError",
    "GraphFileError",
    "InputError",
    "PluginError",
    "SimulationError",
]
