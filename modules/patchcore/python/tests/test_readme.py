"""The README's Python example runs as written against this build."""
import os
import re
import subprocess
import sys

import pytest

import patchcore

from conftest import REPO, data_root


def test_readme_python_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert blocks, "README.md has no ```python block"
    example = blocks[0]
    # It is written to run from the repository root, with the data root at ../shared: run it unchanged in a
    # stand-in root beside a link to the data root, so that the file it saves does not land in the checkout.
    for path in re.findall(r"\"\.\./shared/([^\"*]+)", example):
        if not (data_root() / path).exists():
            pytest.skip(f"SKIPPED: needs {data_root() / path}")
    (tmp_path / "shared").symlink_to(data_root().resolve())
    (tmp_path / "repo").mkdir()
    # This module, wherever it was imported from (PYTHONPATH may be relative to the caller's folder).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(patchcore.__file__)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    done = subprocess.run([sys.executable, "-c", example], cwd=tmp_path / "repo", capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"score \d", done.stdout), done.stdout
