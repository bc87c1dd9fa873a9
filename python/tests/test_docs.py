"""The code blocks of docs/python*.md run, in order, each file in one namespace, from a
scratch directory in which `graphs/` is the repository's."""

import os
import re

import pytest

from conftest import ROOT

DOCS = sorted((ROOT / "docs").glob("python*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_code_blocks_run(doc, tmp_path, monkeypatch):
    blocks = BLOCK.findall(doc.read_text())
    assert blocks, f"{doc} has no python blocks"
    (tmp_path / "graphs").symlink_to(ROOT / "graphs")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for k, code in enumerate(blocks):
        try:
            exec(compile(code, f"{doc.name}[block {k}]", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message is the point
            raise AssertionError(f"{doc.name}, block {k} failed: {e!r}\n{code}") from e
    if doc.name == "python.md":
        assert os.path.getsize(tmp_path / "cuba_raster.png") > 10_000
