"""Links: body links to the site's tag pages and to mirrored articles go
to the mirror's pages; every other link stays as it is."""
import posixpath
from urllib.parse import quote, unquote

import pytest

from newsmirror.items import ArticleItem
from newsmirror.mirror.catalog import Catalog
from newsmirror.mirror.layout import tag_page_path
from newsmirror.pipelines.links import MirrorLinksPipeline

SITE = "https://www.secretchina.com"
PAGE_DIR = "pages/secretchina/2024-05/06"
HELD = "pages/secretchina/2024-04/30/1099999.md"


@pytest.fixture
def links(make_crawler, mirror_dir):
    catalog = Catalog(mirror_dir)
    catalog.add({"site": "secretchina", "id": "1099999", "channel": "p1", "title": "t",
                 "published": "2024-04-30T08:00:00-04:00", "url": "u",
                 "page_path": HELD, "public_url": "p", "tags": [],
                 "language": "", "content_html": ""})
    catalog.close()
    pipeline = MirrorLinksPipeline.from_crawler(make_crawler())
    pipeline.open_spider()
    yield lambda body: pipeline.process_item(ArticleItem(
        id="1100001", site="secretchina", url="u", channel="p1", title="t",
        published="2024-05-06T08:00:00-04:00", body_html=body)).body_html
    pipeline.close_spider()


def relative(target: str) -> str:
    return quote(posixpath.relpath(target, PAGE_DIR))


def test_a_tag_link_goes_to_the_mirrors_tag_page(links):
    out = links(f'<p>关于<a href="{SITE}/news/gb/tag/%E4%BF%84%E7%BD%97%E6%96%AF">俄罗斯</a>'
                "的报道</p>")
    assert out == f'<p>关于<a href="{relative(tag_page_path("俄罗斯"))}">俄罗斯</a>的报道</p>'
    assert unquote(relative(tag_page_path("俄罗斯"))).startswith("../../../../tags/")


def test_a_tag_is_read_as_the_tags_pipeline_reads_it(links):
    # White space trimmed and collapsed, as in the article's tag list.
    out = links(f'<p><a href="{SITE}/news/gb/tag/%20%E5%8F%B0%E6%B9%BE%20%20">台湾</a></p>')
    assert f'href="{relative(tag_page_path("台湾"))}"' in out


@pytest.mark.parametrize("home", [SITE, f"{SITE}/", f"{SITE}/#top"])
def test_a_link_to_the_sites_home_goes_to_the_mirrors_home(links, home):
    out = links(f'<p><a href="{home}">中国</a>官员</p>')
    assert out == '<p><a href="../../../../README.md">中国</a>官员</p>'


def test_a_link_to_a_mirrored_article_goes_to_its_page(links):
    out = links(f'<p>见<a href="{SITE}/news/gb/2024/04/30/1099999.html">前文</a></p>')
    assert out == f'<p>见<a href="{relative(HELD)}">前文</a></p>'


@pytest.mark.parametrize("href", [
    f"{SITE}/news/gb/2024/05/01/1088888.html",  # not in the mirror (yet)
    f"{SITE}/news/gb/p1.html",  # a channel page of the site
    f"{SITE}/?s=search",  # a search
    "https://www.example.org/news/gb/tag/%E4%BF%84",  # another site's tag page
    "https://www.example.org/news/gb/2024/04/30/1099999.html",
    "https://other.secretchina.com/news/gb/2024/04/30/1099999.html",
    "http://[::1/news/gb/tag/x",  # not a valid URL
    f"{SITE}/news/gb/tag/%20",  # no tag in it
])
def test_any_other_link_stays(links, href):
    body = f'<p><a href="{href}">链接</a> 与 <img src="https://img3.secretchina.com/a.jpg"></p>'
    assert links(body) == body


def test_a_body_without_links_is_left_as_it_is(links):
    body = "<p>正文&amp;没有链接</p>\n<p>第二段</p>"
    assert links(body) == body
