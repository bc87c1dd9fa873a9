"""The build backend of `pip install .`: maturin, after the workspace's plugins are built.

The extension module is one cdylib (python/Cargo.toml); the learning-rule and environment
plugins are cdylibs of their own, loaded at run time by name. maturin builds only the
extension, so this backend first builds the plugins with cargo (into the workspace's target
directory, shared with the README's commands) and copies them into the package
(`snnsim/plugins/`), where the package finds them without configuration. Every other hook is
maturin's own.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import maturin
from maturin import *  # noqa: F401,F403  (the PEP 517 hooks not wrapped below)

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = [
    "stdp",
    "rstdp",
    "reinforce",
    "a2c",
    "gridworld",
    "cartpole",
    "pendulum",
    "mountaincar",
    "acrobot",
    "rate_threshold",
    "plateau",
    "deep_r",
    "homeostatic",
    "develop",
]


def _target_dir() -> Path:
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    import json

    return Path(json.loads(out)["target_directory"])


def _build_plugins() -> None:
    packages = []
    for name in PLUGINS:
        packages += ["-p", f"snnsim-plugin-{name.replace('_', '-')}"]
    cmd = ["cargo", "build", "--release", "--locked", *packages]
    print("snnsim: building the plugins:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=ROOT, check=True)
    release = _target_dir() / "release"
    dest = ROOT / "python" / "snnsim" / "plugins"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    prefix, suffix = {
        "darwin": ("lib", ".dylib"),
        "win32": ("", ".dll"),
    }.get(sys.platform, ("lib", ".so"))
    strip = shutil.which("strip") if sys.platform.startswith("linux") else None
    for name in PLUGINS:
        lib = release / f"{prefix}snnsim_plugin_{name}{suffix}"
        shutil.copy2(lib, dest / lib.name)
        # The release profile keeps line tables (for profiles and backtraces of the CLI);
        # the wheel's copies need none, which makes them a quarter of the size.
        if strip:
            subprocess.run([strip, "--strip-debug", str(dest / lib.name)], check=False)
    if os.environ.get("SNNSIM_BUILD_VERBOSE"):
        print("snnsim: plugins in", dest, file=sys.stderr)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _build_plugins()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _build_plugins()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)
