"""The crawl runs from a plain checkout with only the requirements
installed (`pip install -r requirements.txt`, no `pip install -e .`): no
package metadata of newsmirror's anywhere."""
import shutil
import subprocess
import sys
import sysconfig

from pathlib import Path

import pytest

from tests.conftest import ROOT, crawl_command

pytestmark = pytest.mark.e2e


def site_packages_without_newsmirror(shadow):
    """The installed requirements, as links, less newsmirror's own
    metadata and editable-install hooks."""
    shadow.mkdir()
    for entry in sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")}):
        for path in Path(entry).iterdir():
            if not path.name.startswith(("newsmirror", "__editable__")) \
                    and path.suffix != ".pth":
                (shadow / path.name).symlink_to(path)
    return shadow


def test_crawl_runs_from_a_checkout_without_the_package_installed(site_server, tmp_path):
    shadow = site_packages_without_newsmirror(tmp_path / "site-packages")
    # The project's files as git has them (the worktree has the
    # newsmirror.egg-info of an editable install).
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "newsmirror", checkout / "newsmirror",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "scrapy.cfg", checkout)
    cmd, _ = crawl_command(site_server.base_url, tmp_path / "mirror")
    # -S: not the real site-packages, where newsmirror is installed.
    code = (f"import sys; sys.path.insert(1, {str(shadow)!r}); "
            "from scrapy.cmdline import execute; execute()")
    result = subprocess.run([sys.executable, "-S", "-c", code, *cmd[3:]], cwd=checkout,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert len(list((tmp_path / "mirror").glob("pages/**/*.md"))) == 6
