"""A whole crawl of the sample, every page rendered with markdown-it-py:
the cleaned article's text, clean Markdown, tag pages and feed.json."""
import json
import subprocess
import sys
from urllib.parse import unquote

import lxml.html
import pytest

from newsmirror.sample.server import SiteServer, sample_site
from scripts.fidelity import body_tokens, norm, segments
from tests.conftest import CRAWL_SETTINGS, ROOT, SAMPLE, run_crawl
from tests.jsonfeed import json_feed_errors
from tests.mirror_checks import md, raw_html

pytestmark = pytest.mark.e2e
BASE_URL = CRAWL_SETTINGS["MIRROR_BASE_URL"]
FEED_SIZE = 4


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """Two crawls of the sample into two mirrors, and the first's items."""
    tmp = tmp_path_factory.mktemp("crawls")
    with SiteServer(sample_site()) as server:
        for name in ("mirror", "again"):
            result = run_crawl(server.base_url, tmp / name, "-O", str(tmp / f"{name}.json"),
                               MIRROR_FEED_SIZE=FEED_SIZE)
            assert result.returncode == 0, result.stderr[-3000:]
    items = json.loads((tmp / "mirror.json").read_text("utf-8"))
    assert len(items) == 6
    return tmp / "mirror", tmp / "again", items


def html_root(html: str):
    return lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")


def test_every_page_renders_the_cleaned_article_text(crawls):
    mirror, _, items = crawls
    for item in items:
        page = (mirror / item["page_path"]).read_text("utf-8")
        assert raw_html(page) == [], item["page_path"]
        tokens = md.parse(page)
        body = html_root(md.renderer.render(body_tokens(tokens), md.options, {}))
        rendered = "\n".join(segments(body))
        cleaned = segments(html_root(item["body_html"]))
        assert cleaned, item["page_path"]
        missing = [p for p in cleaned if p not in rendered]
        assert missing == [], item["page_path"]
        # Bold, lists, quotes and links come through as such.
        source = html_root(item["body_html"])
        for tag in ("strong", "li", "blockquote", "h2"):
            assert len(list(body.iter(tag))) >= len(list(source.iter(tag))), (tag, item["id"])
        assert {a.get("href") for a in source.iter("a")} <= {a.get("href") for a in body.iter("a")}
        # Each image from the mirror's own copy, linked relative to the page.
        srcs = [i.get("src") for i in body.iter("img")]
        page_dir = (mirror / item["page_path"]).parent
        assert [(page_dir / src).resolve() for src in srcs] == [
            (mirror / i["path"]).resolve() for i in item["images"]], item["id"]
        assert all((mirror / i["path"]).is_file() for i in item["images"])


def test_embeds_escapes_and_cjk_come_through(crawls):
    mirror, _, _ = crawls
    page = (mirror / "pages/secretchina/2024-05/08/1100003.md").read_text("utf-8")
    rendered = html_root(md.render(page))
    text = " ".join(rendered.text_content().split())
    # Text that looks like Markdown renders as itself.
    assert ("# 第1条 *不是强调* _也不是_ [注1] a|b `代码` <b>标签</b> 1. 不是列表 ~~删~~ &copy;"
            in text)
    assert "---" in [p.text_content().strip() for p in rendered.iter("p")]
    assert "受害者可获赔偿。😀" in text and "（图片来源：Getty Images）" in text
    # Bold wedged between CJK text and punctuation, and around a link, is bold.
    assert "我们不会退让" in [norm(s.text_content()).strip("“”") for s in rendered.iter("strong")]
    assert "C# & AI" in [norm(s.text_content()) for s in rendered.iter("strong")]
    quotes = list(rendered.iter("blockquote"))
    assert len(quotes) == 3  # two tweets and an Instagram post, each its own quote
    assert "press@example.org" in quotes[1].text_content()
    assert [a.get("href") for a in quotes[1].iter("a")] == [
        "https://twitter.com/press_example/status/1000000000000000002"]
    assert any("instagram.com/p/EXAMPLE123" in a.get("href") for a in quotes[2].iter("a"))
    video = [a for a in rendered.iter("a") if a.get("href", "").endswith("p100003.mp4")]
    assert [a.text_content() for a in video] == ["▶ 议会投票现场（视频）"]
    assert "iframe" not in page and "cdn-cgi" not in page


def test_every_markdown_file_is_tidy(crawls):
    mirror, _, _ = crawls
    files = sorted(mirror.rglob("*.md"))
    assert len(files) > 20
    for path in files:
        text = path.read_text("utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert "\n\n\n" not in text, path
        assert all(line == line.rstrip() for line in text.split("\n")), path
        assert raw_html(text) == [], path
        # A block never starts on the line right after a paragraph line.
        lines = text.split("\n")
        for before, line in zip(lines, lines[1:]):
            if line.startswith(">"):
                assert before == "" or before.startswith(">"), (path, line)


def test_two_crawls_write_byte_identical_pages(crawls):
    mirror, again, _ = crawls
    pages = {p.relative_to(mirror): p.read_bytes() for p in mirror.rglob("*.md")}
    assert pages == {p.relative_to(again): p.read_bytes() for p in again.rglob("*.md")}
    assert (mirror / "feed.json").read_bytes() == (again / "feed.json").read_bytes()


def test_body_tag_links_go_to_the_mirrors_tag_pages(crawls):
    mirror, _, items = crawls
    tag_dir = (mirror / "tags").resolve()
    into_mirror = 0
    for item in items:
        page = mirror / item["page_path"]
        text = page.read_text("utf-8")
        body = html_root(md.renderer.render(body_tokens(md.parse(text)), md.options, {}))
        for a in body.iter("a"):
            assert "/news/gb/tag/" not in a.get("href"), (item["id"], a.get("href"))
            if a.get("href").startswith("../"):
                target = (page.parent / unquote(a.get("href"))).resolve()
                assert target.parent.parent == tag_dir and target.is_file()
                assert f"](../../{item['page_path']})" in target.read_text("utf-8")
                into_mirror += 1
        # The share block still names the original.
        assert f"原文地址：<{item['url']}>" in text
    assert into_mirror >= len(items)


def test_tag_lines_link_to_tag_pages_listing_the_article_newest_first(crawls):
    mirror, _, items = crawls
    tag_dir = (mirror / "tags").resolve()
    for item in items:
        page = mirror / item["page_path"]
        header = md.parse(page.read_text("utf-8"))
        header = header[:next(i for i, t in enumerate(header) if t.type == "hr")]
        links = {a.text_content(): (page.parent / unquote(a.get("href"))).resolve()
                 for a in html_root(md.renderer.render(header, md.options, {})).iter("a")
                 if "tags/" in a.get("href")}
        assert set(links) == set(item["tags"]), item["id"]
        for tag, target in links.items():
            assert target.parent.parent == tag_dir and target.is_file(), tag
            listing = target.read_text("utf-8")
            assert f"](../../{item['page_path']})" in listing
            rendered = html_root(md.render(listing))
            assert next(rendered.iter("h1")).text_content() == f"标签：{tag}"
            days = [li.text_content()[:10] for li in rendered.iter("li")]
            assert days == sorted(days, reverse=True)
    assert any("#" in t for item in items for t in item["tags"])


def test_feed_json_is_a_valid_json_feed_of_the_newest_articles(crawls):
    mirror, _, items = crawls
    feed = json.loads((mirror / "feed.json").read_text("utf-8"))
    assert json_feed_errors(feed) == []
    newest = sorted(items, key=lambda i: i["published"], reverse=True)[:FEED_SIZE]
    assert [i["id"] for i in feed["items"]] == [i["public_url"] for i in newest]
    for entry, item in zip(feed["items"], newest):
        assert entry["url"] == f"{BASE_URL}/{item['page_path']}"
        assert (mirror / item["page_path"]).is_file()
        assert entry["external_url"] == item["url"]
        assert entry["title"] == item["title"]
        assert entry["content_html"] == item["body_html"]
        assert entry["date_published"] == item["published"]
        assert entry["tags"] == item["tags"]
        assert entry["language"] == "zh-CN"


def test_fidelity_tool_scores_the_sample_perfectly(tmp_path):
    result = subprocess.run(
        [sys.executable, ROOT / "scripts/fidelity.py", "--site", SAMPLE, "--work", tmp_path],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("pages/")]
    assert len(rows) == 6 and all(row[2] == "0" for row in rows)
    assert "paragraph recall 100.0%" in result.stdout
    assert "every target (incl. byte-identical pages on a second crawl): 6/6" in result.stdout


def test_fidelity_tool_explains_itself():
    result = subprocess.run([sys.executable, ROOT / "scripts/fidelity.py", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "--corpus" in result.stdout and "--site" in result.stdout
