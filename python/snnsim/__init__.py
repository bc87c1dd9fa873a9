"""snnsim: a spiking-neural-network simulator, from Python.

The simulator is the Rust library behind the ``snnsim`` command line; this package reaches
it without giving up its speed: runs release the GIL, arrays come back as numpy arrays, and
a result from Python is the one the command line gives for the same file and seed
(``Simulation.state_hash`` equals ``summary.json``'s). See docs/python.md.
"""

import os as _os

from . import _snnsim
from . import graph
from .graph import *  # noqa: F401,F403  (Graph and one class per type of the file format)
from .errors import (
    GraphFileError,
    InputError,
    PluginError,
    SimulationError,
    SnnsimError,
)
from ._agent import Agent
from ._snnsim import Simulation
from ._train import RunResult, train

_snnsim._add_plugin_dir(_os.path.join(_os.path.dirname(__file__), "plugins"))

try:  # Gymnasium is optional; with it, the environments register as snnsim/... (snnsim.gym)
    import gymnasium as _gymnasium  # noqa: F401
except ImportError:
    pass
else:
    from . import gym  # noqa: F401

plugin_dirs = _snnsim.plugin_dirs
plugins = _snnsim.plugins
inspect = _snnsim.inspect
validate = _snnsim.validate
__version__ = _snnsim.version()


def diff(a, b):
    """Compares the networks of two graph files, run directories or checkpoints.

    Returns ``(equal, report)``: whether they are equal, and the text of ``snnsim diff``.
    """
    return _snnsim.diff(_os.fspath(a), _os.fspath(b))


__all__ = [
    "Agent",
    "Simulation",
    "train",
    "RunResult",
    "plugin_dirs",
    "plugins",
    "inspect",
    "validate",
    "diff",
    "SnnsimError",
    "GraphFileError",
    "InputError",
    "PluginError",
    "SimulationError",
] + graph.__all__
