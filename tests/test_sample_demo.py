"""`python -m newsmirror.sample`, as the README's quick start runs it."""
import os
import subprocess
import sys

import pytest

from newsmirror.mirror.lock import take_crawl_lock
from tests.conftest import ROOT, SAMPLE_PAGES
from tests.gfm_checks import problems

pytestmark = pytest.mark.e2e


def run_demo(cwd, *args, status=0):
    result = subprocess.run([sys.executable, "-m", "newsmirror.sample", *args], cwd=cwd,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == status, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
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


def test_the_demo_checks_its_tree_before_it_starts_as_scrapy_crawl_does(tmp_path):
    # A directory it cannot write: one line naming it, status 2.
    result = run_demo(tmp_path, "--out", "/proc/sample-mirror", status=2)
    [error] = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert "bad setting MIRROR_DIR='/proc/sample-mirror'" in error
    assert error.endswith("the crawl did not start")
    # A tree another crawl is writing: refused, status 1, nothing fetched.
    tree = tmp_path / "sample-mirror"
    lock = take_crawl_lock(tree, shared=False)
    try:
        result = run_demo(tmp_path, status=1)
    finally:
        os.close(lock)
    assert f"another crawl is writing to {tree}" in result.stderr
    assert not (tree / "pages").exists()
