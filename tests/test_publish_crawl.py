"""Whole crawls of the sample site with PUBLISH_TO: the tree reaches the remotes."""
from __future__ import annotations

import pytest

from tests.conftest import SAMPLE_PAGES, run_crawl
from tests.gitservers import GitDaemon, bare_repo, files_on, subjects

pytestmark = [pytest.mark.git, pytest.mark.e2e]
# The branch of the crawls' MIRROR_BASE_URL (tests/conftest.py), where
# PUBLISH_BRANCH defaults to.
BRANCH = "main"


def tree(mirror) -> set[str]:
    """The files a crawl wrote, the crawler's own state left out."""
    return {p.relative_to(mirror).as_posix() for p in mirror.rglob("*")
            if p.is_file() and not p.relative_to(mirror).as_posix().startswith(
                (".git/", ".newsmirror/"))}


def test_a_crawl_publishes_its_tree_to_every_remote_once(site_server, tmp_path):
    root = tmp_path / "served"
    bare_repo(root / "a.git")
    by_path = bare_repo(tmp_path / "b.git")
    mirror = tmp_path / "mirror"
    with GitDaemon(root) as daemon:
        remotes = f"{daemon.url('a.git')},{by_path}"
        first = run_crawl(site_server.base_url, mirror, "-a", "channels=p1,p2",
                          PUBLISH_TO=remotes)
        assert first.returncode == 0, first.stderr[-3000:]
        assert "published: commit " in first.stderr
        assert "pushed to 2, 2 of 2 remotes up to date, repository " in first.stderr
        whole = run_crawl(site_server.base_url, mirror, PUBLISH_TO=remotes)
        again = run_crawl(site_server.base_url, mirror, PUBLISH_TO=remotes)
    assert "published: nothing new, pushed to 0, 2 of 2 remotes up to date" in again.stderr
    for remote in (root / "a.git", by_path):
        assert files_on(remote, BRANCH) == tree(mirror)
        assert subjects(remote, BRANCH) == ["3 new articles: p4 1, p5 1, p9 1",
                                    "3 new articles: p1 2, p2 1"]
    assert "'newsmirror/publish/commits_pushed': 2" in whole.stderr


def test_a_crawl_whose_push_fails_ends_normally_and_the_next_delivers(
        site_server, tmp_path):
    root = tmp_path / "served"
    bare_repo(root / "a.git")
    mirror = tmp_path / "mirror"
    daemon = GitDaemon(root)
    url = daemon.url("a.git")
    down = run_crawl(site_server.base_url, mirror, PUBLISH_TO=url, PUBLISH_RETRIES="0")
    assert down.returncode == 0, down.stderr[-3000:]
    assert "Spider closed (finished)" in down.stderr
    assert f"push failed to {url} (1 commits pending)" in down.stderr
    with daemon:
        back = run_crawl(site_server.base_url, mirror, PUBLISH_TO=url)
    assert "published: nothing new, pushed to 1, 1 of 1 remotes up to date" in back.stderr
    assert files_on(root / "a.git", BRANCH) == tree(mirror)
    assert subjects(root / "a.git", BRANCH) == ["6 new articles: p1 2, p2 1, p4 1, p5 1, p9 1"]


def test_keep_per_channel_publishes_only_the_newest_pages(site_server, tmp_path):
    remote = bare_repo(tmp_path / "a.git")
    mirror = tmp_path / "mirror"
    result = run_crawl(site_server.base_url, mirror, "-a", "channels=p1",
                       PUBLISH_TO=str(remote), MIRROR_KEEP_PER_CHANNEL="1")
    assert result.returncode == 0, result.stderr[-3000:]
    published = files_on(remote, BRANCH)
    assert published == tree(mirror)
    older, newer = SAMPLE_PAGES["p1"]["1100001"], SAMPLE_PAGES["p1"]["1100002"]
    assert newer in published and older not in published
    assert older not in (mirror / "README.md").read_text("utf-8")
