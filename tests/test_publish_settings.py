"""PUBLISH_* settings: the branch and page URL derived, bad values refused."""
from __future__ import annotations

import pytest

from scrapy.exceptions import NotConfigured

from newsmirror.addons.publish import page_base_url
from newsmirror.extensions.publish import Publish
from newsmirror.publish.__main__ import main
from newsmirror.settings import MIRROR_BASE_URL as PLACEHOLDER_URL


@pytest.mark.parametrize("remote, expected", [
    ("https://x-access-token:ghp_secret@github.com/me/mirror.git",
     "https://github.com/me/mirror/blob/master"),
    ("git@github.com:me/mirror.git", "https://github.com/me/mirror/blob/master"),
    ("ssh://git@gitlab.com/group/sub/mirror.git",
     "https://gitlab.com/group/sub/mirror/-/blob/master"),
    ("https://codeberg.org/me/mirror", "https://codeberg.org/me/mirror/src/branch/master"),
    ("https://gitea.example.org:3000/me/mirror.git",
     "https://gitea.example.org:3000/me/mirror/src/branch/master"),
    ("git://127.0.0.1:9418/mirror.git", None),
    ("/srv/git/mirror.git", None),
    ("https://github.com/justauser", None),
])
def test_page_url_from_a_remote(remote, expected):
    assert page_base_url(remote, "master") == expected


def test_the_placeholder_page_url_is_derived_from_the_first_remote(make_crawler):
    crawler = make_crawler(PUBLISH_TO="https://tok@github.com/me/mirror.git,/srv/b.git")
    assert crawler.settings["MIRROR_BASE_URL"] == "https://github.com/me/mirror/blob/master"
    assert crawler.settings["PUBLISH_BRANCH"] == "master"


def test_a_page_url_given_is_kept_and_names_the_branch(make_crawler):
    crawler = make_crawler(PUBLISH_TO="https://github.com/me/mirror.git",
                           MIRROR_BASE_URL="https://gitlab.com/me/m/-/blob/pages")
    assert crawler.settings["MIRROR_BASE_URL"] == "https://gitlab.com/me/m/-/blob/pages"
    assert crawler.settings["PUBLISH_BRANCH"] == "pages"


def test_without_remotes_nothing_changes(make_crawler):
    crawler = make_crawler()
    assert crawler.settings["MIRROR_BASE_URL"] == PLACEHOLDER_URL
    assert crawler.settings["PUBLISH_BRANCH"] == "master"
    with pytest.raises(NotConfigured):
        Publish.from_crawler(crawler)


@pytest.mark.parametrize("name, value", [
    ("PUBLISH_TIMEOUT", "0"), ("PUBLISH_RETRIES", "-1"), ("PUBLISH_BRANCH", "a..b"),
])
def test_publishing_alone_refuses_a_bad_value_in_one_line_naming_it(
        name, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["-s", f"MIRROR_DIR={tmp_path}", "-s", "PUBLISH_TO=/srv/a.git",
              "-s", f"{name}={value}"])
    assert exit.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert f"bad setting {name}={value!r}" in error
