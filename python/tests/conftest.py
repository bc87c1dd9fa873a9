"""Shared fixtures of the Python tests: the repository's root, its graph files, and the
command-line binary built by the README's `cargo build --release` (the tests compare the
package with it). The tests import the installed package, never python/snnsim itself."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def cli_path():
    return Path(os.environ.get("SNNSIM_BIN", target_dir() / "release" / "snnsim"))


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """Runs the `snnsim` binary; returns the completed process (stdout, stderr as text)."""
    exe = cli_path()
    if not exe.exists():
        pytest.fail(f"{exe} is missing: run `cargo build --release` first (or set SNNSIM_BIN)")

    def run(*args, check=True):
        p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"snnsim {' '.join(map(str, args))}: exit {p.returncode}\n{p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def cli_json(cli):
    def run(*args):
        return json.loads(cli(*args, "--json", "--quiet").stdout.strip().splitlines()[-1])

    return run


def short_cuba(root, tmp_path, duration_ms, extra=""):
    """graphs/cuba.ron with another duration (and text appended to the top level)."""
    text = (root / "graphs" / "cuba.ron").read_text()
    text = text.replace("duration_ms: 1000.0", f"duration_ms: {duration_ms}")
    if extra:
        text = text.rstrip().rstrip(")").rstrip() + "\n" + extra + "\n)\n"
    path = tmp_path / "cuba.ron"
    path.write_text(text)
    return path


@pytest.fixture
def ctrl_c():
    """Ctrl-C with its usual meaning (KeyboardInterrupt) for the test. A process that a shell
    without job control starts in the background inherits SIGINT ignored, and Python then
    installs no handler of its own; the tests that press Ctrl-C must not depend on that."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
