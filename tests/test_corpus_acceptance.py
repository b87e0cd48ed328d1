"""Acceptance on the real corpus, when ../shared is beside the project.

The corpus is not part of the project; outside the workplace this test is
skipped with a message (pytest -rs shows it).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.fidelity import stored_image
from tests.conftest import CRAWL_SETTINGS, ROOT, run_crawl
from tests.gfm_checks import problems
from tests.mirror_checks import check_page, md, snapshot

SHARED = Path(os.environ.get("NEWSMIRROR_SHARED", ROOT.parent / "shared"))
TOOLS = SHARED / "tools"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (TOOLS / "sitegen.py").is_file(),
                       reason=f"no corpus tools at {TOOLS}: corpus acceptance not run"),
]


@pytest.fixture(scope="module")
def corpus_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, TOOLS / "sitegen.py", site], check=True,
                   capture_output=True)
    server = subprocess.Popen([sys.executable, TOOLS / "serve_site.py", site, "--assets"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("serving "), line
        yield site, line.split()[1]
    finally:
        server.kill()
        server.wait()


def test_every_corpus_article_is_mirrored_clean(corpus_site, tmp_path):
    site, base_url = corpus_site
    articles = {p.stem for p in site.glob("news/gb/*/*/*/*.html")}
    mirror = tmp_path / "mirror"
    result = run_crawl(base_url, mirror)
    assert result.returncode == 0, result.stderr[-3000:]
    pages = list(mirror.glob("pages/**/*.md"))
    assert {p.stem for p in pages} == articles
    assert len(pages) == len(articles)
    shown = set()
    for page in pages:
        text = check_page(page, CRAWL_SETTINGS["MIRROR_BASE_URL"], mirror)
        # Every image from the mirror's copy: a valid one, within the caps.
        for token in md.parse(text):
            for image in (c for c in token.children or [] if c.type == "image"):
                if image.attrs["src"].endswith(".md.png"):
                    continue  # the QR code
                stored, wrong = stored_image(image.attrs["src"], page, mirror)
                assert stored.startswith("images/") and not wrong, (page, image.attrs)
                shown.add(stored)
    assert {p.relative_to(mirror).as_posix() for p in mirror.glob("images/*/*")} == shown
    assert len(shown) == len(list(site.glob("_hosts/*/**/*.*")))
    assert problems(mirror) == []  # as GitHub shows the tree

    before = snapshot(mirror)
    again = run_crawl(base_url, mirror)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 articles mirrored (0 pages new or changed)" in again.stderr
    assert "downloader/response_count': 10," in again.stderr  # robots + 9 feeds
    assert snapshot(mirror) == before
