"""`python -m newsmirror.sample`, as the README's quick start runs it."""
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLE_PAGES
from tests.gfm_checks import problems

pytestmark = pytest.mark.e2e


def run_demo(cwd):
    result = subprocess.run([sys.executable, "-m", "newsmirror.sample"], cwd=cwd,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_demo_keeps_its_own_tree_and_leaves_the_users_files(tmp_path):
    # What a live crawl left: its tree and an items file of the user's.
    (tmp_path / "mirror").mkdir()
    (tmp_path / "articles.json").write_text('[{"id": "1"}]', "utf-8")
    run_demo(tmp_path)
    tree = tmp_path / "sample-mirror"
    pages = sorted(p.relative_to(tree).as_posix() for p in tree.glob("pages/**/*.md"))
    assert pages == sorted(p for ch in SAMPLE_PAGES.values() for p in ch.values())
    assert problems(tree) == []
    assert list((tmp_path / "mirror").iterdir()) == []
    items = list((tmp_path / "sample-mirror-items").iterdir())
    assert len(items) == 1 and items[0].read_text("utf-8").count('"page_path"') == 6
    run_demo(tmp_path)  # nothing new: no items file, none overwritten
    assert list((tmp_path / "sample-mirror-items").iterdir()) == items
    assert (tmp_path / "articles.json").read_text("utf-8") == '[{"id": "1"}]'
