"""Markdown export: a complete, readable page with no raw HTML."""
from pathlib import Path

import lxml.html
import pytest
from markdown_it import MarkdownIt
from scrapy.exceptions import DropItem

from newsmirror.items import ArticleItem
from newsmirror.mirror.layout import tag_page_path
from newsmirror.mirror.render import escape_md
from newsmirror.pipelines.markdown import MarkdownPagePipeline, to_markdown
from tests.conftest import run_closing
from tests.gfm_checks import page_problems, render_gfm

md = MarkdownIt("commonmark").enable("table")


def html_blocks(text):
    found = []
    for t in md.parse(text):
        if t.type == "html_block":
            found.append(t.content)
        for c in t.children or []:
            if c.type == "html_inline":
                found.append(c.content)
    return found


def process(crawler, it):
    """The pipeline's process_item, its worker pool closed after."""
    pipeline = MarkdownPagePipeline.from_crawler(crawler)
    return run_closing(pipeline.workers, lambda: pipeline.process_item(it))


def item(**kw):
    values = dict(id="1100001", url="https://www.secretchina.com/news/gb/2024/05/06/1100001.html",
                  channel="p1", title="标题 *星号* [方括号] #1", published="2024-05-06T09:15:00-04:00",
                  body_html=('<p>正文 <strong>加粗</strong> <em>斜体</em></p><h2>小标题</h2>'
                             '<ul><li>一</li><li>二</li></ul>'
                             '<p><img alt="图说" src="https://img.example/1.jpg"><br>图说</p>'
                             '<blockquote><p>引文</p></blockquote>'),
                  source="看中国", tags=["暴雨", "a/b"], language="zh-CN", site="secretchina")
    values.update(kw)
    return ArticleItem(**values)


def test_body_becomes_real_markdown():
    out = to_markdown(item().body_html)
    assert "**加粗**" in out and "*斜体*" in out
    assert "## 小标题" in out
    assert "- 一\n- 二" in out
    assert "![图说](https://img.example/1.jpg)\\\n图说" in out
    assert "> 引文" in out
    assert html_blocks(out) == []


def test_markdown_metacharacters_in_text_are_escaped():
    out = to_markdown("<p># 不是标题 *不是强调* _x_ [y] &lt;b&gt; `z`</p>")
    rendered = md.render(out)
    assert "<h1>" not in rendered and "<em>" not in rendered
    assert "# 不是标题 *不是强调* _x_ [y] &lt;b&gt; `z`" in rendered


@pytest.mark.parametrize("title", ["1. 不是列表", "- 不是列表", "<b>x</b>", "# 标题", "a | b"])
def test_escaped_titles_render_as_themselves(title):
    rendered = md.render(f"# {escape_md(title)}\n")
    expected = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert rendered == f"<h1>{expected}</h1>\n"


@pytest.mark.parametrize("workers", [0, 1])
def test_page_is_written_with_title_meta_body_share_and_menus(make_crawler, mirror_dir,
                                                             workers):
    crawler = make_crawler(MIRROR_WORKERS=workers)
    it = item()
    assert process(crawler, it) is it
    page = (mirror_dir / "pages/secretchina/2024-05/06/1100001.md").read_text("utf-8")
    assert it.page_path == "pages/secretchina/2024-05/06/1100001.md"
    assert it.qr_path == "pages/secretchina/2024-05/06/1100001.md.png"
    assert it.public_url == ("https://github.com/OWNER/REPO/blob/master/"
                             "pages/secretchina/2024-05/06/1100001.md")
    assert md.render(page).startswith("<h1>标题 *星号* [方括号] #1</h1>\n")
    assert "[首页](../../../../README.md)" in page
    assert "2024-05-06 09:15 · 来源：看中国" in page
    assert f"[暴雨](../../../../{tag_page_path('暴雨')})" in page
    assert f"[![本页二维码](1100001.md.png)]({it.public_url})" in page
    assert f"原文地址：<{it.url}>" in page
    assert html_blocks(page) == []
    assert page.endswith("\n") and not page.endswith("\n\n")
    assert all(line == line.rstrip() for line in page.split("\n"))
    assert crawler.stats.get_value("newsmirror/pages_written") == 1
    assert it.body_markdown and it.body_markdown in page
    worker_ms = crawler.stats.get_value("newsmirror/cpu_ms/MarkdownPagePipeline/worker")
    assert (worker_ms >= 0) if workers else worker_ms is None


def test_unsafe_page_path_is_dropped(crawler, mirror_dir):
    with pytest.raises(DropItem):
        process(crawler, item(id="../../../../../../x"))
    assert crawler.stats.get_value("newsmirror/dropped/unsafe_path") == 1
    assert not (mirror_dir.parent / "x.md").exists()


LOOKS_LIKE_MARKDOWN = [
    "# 不是标题", "1. 不是列表", "1) 也不是", "- 不是", "+ 不是", "* 不是", "---", "***",
    "___", "a\n===", "> 不是引用", "a | b | c", "`code`", "<b>x</b>", "&amp;copy;",
    "[x](y)", "![i](j)", "a_b_c", "*a*", "**a**", "~~s~~", "<http://x.y>", "\\", "[^1]",
    "&#65;", "｜全角｜＃＊＿", "C#", "x * y * z", "a]b[c", "```", "~~~", "- - -", "10. 十"]


@pytest.mark.parametrize("text", LOOKS_LIKE_MARKDOWN)
@pytest.mark.parametrize("wrap", [
    "<p>{}</p>", "<p>前<strong>{}</strong>后</p>", "<ul><li>{}</li></ul>",
    "<blockquote><p>{}</p></blockquote>", "<h2>{}</h2>", "<p><a href='http://e.x/'>{}</a></p>"])
@pytest.mark.parametrize("render", [md.render, render_gfm], ids=["commonmark", "github"])
def test_text_that_looks_like_markdown_renders_as_itself(text, wrap, render):
    import html
    source = wrap.format(html.escape(text, quote=False))
    rendered = render(to_markdown(source))
    root = lxml.html.fragment_fromstring(rendered, create_parent="div")
    expected = lxml.html.fragment_fromstring(source, create_parent="div")
    assert " ".join(root.text_content().split()) == " ".join(expected.text_content().split())
    structure = [e.tag for e in expected.iter() if e.tag != "strong"]
    if "://" in text and "<a " not in wrap:
        structure.append("a")  # a bare URL links to itself
    assert [e.tag for e in root.iter() if e.tag != "strong"] == structure


@pytest.mark.parametrize("html_in,bold", [
    ("<p>他说<strong>“不”</strong>。</p>", "不"),
    ("<p>他说<strong>（不）</strong>文</p>", "不"),
    ("<p>凶嫌<strong><a href='http://x/'>欧金中</a></strong>。</p>", "欧金中"),
    ("<p>凶嫌<strong><a href='http://x/'>欧金中</a>等人</strong>。</p>", "欧金中等人"),
    ("<p>文<strong><em>“x”</em></strong>文</p>", "x"),
    ("<p>价<strong>$100</strong>元</p>", "100"),
    ("<p>x<strong>😀好</strong>y</p>", "好"),
])
def test_bold_next_to_cjk_punctuation_or_a_link_stays_bold(html_in, bold):
    out = to_markdown(html_in)
    root = lxml.html.fragment_fromstring(md.render(out), create_parent="div")
    assert "".join(s.text_content() for s in root.iter("strong")).strip("“”（）") == bold
    assert "*" not in root.text_content()
    source = lxml.html.fragment_fromstring(html_in, create_parent="div")
    assert root.text_content().strip() == source.text_content()


def test_quotes_are_blocks_of_their_own():
    out = to_markdown("<p>前文</p><blockquote><p>推文一</p>— a <a href='http://t/1'>d</a>"
                      "</blockquote><blockquote><p>推文二</p></blockquote><p>后文</p>")
    assert out == ("前文\n\n> 推文一\n>\n> — a [d](http://t/1)\n\n> 推文二\n\n后文\n")
    assert len(md.parse(out)) > 0
    assert [t.type for t in md.parse(out)].count("blockquote_open") == 2


def test_cjk_full_width_and_emoji_pass_unchanged_and_output_is_stable():
    text = "全角：｛括号｝［方］＃号＊星＿线｜竖，句。「引」😀👍🏽 한국어 かな"
    html_in = f"<p>{text}</p><p>第二段</p>"
    out = to_markdown(html_in)
    assert out == f"{text}\n\n第二段\n"
    assert to_markdown(html_in) == out


@pytest.mark.parametrize("title", ["*紧急* 求助 [更新]", "1. 不是列表", "# 标题 #", "a | b",
                                   "](evil)", "C++ & C#", "<script>", "---", "全角＃＊😀"])
def test_titles_with_markdown_characters_keep_index_links_whole(title):
    from newsmirror.mirror.render import article_list
    line = article_list([{"published": "2024-05-06T09:15:00-04:00", "title": title,
                          "page_path": "pages/p1/1.md"}], "indexes")
    root = lxml.html.fragment_fromstring(md.render(line), create_parent="div")
    links = list(root.iter("a"))
    assert [(a.text_content(), a.get("href")) for a in links] == [(title, "../pages/p1/1.md")]
    assert next(root.iter("li")).text_content() == f"2024-05-06 {title}"


def test_menu_and_footer_come_from_settings(make_crawler, mirror_dir):
    crawler = make_crawler(
        MIRROR_MENU='{"首页": "README.md", "关于": "https://example.org/about"}',
        MIRROR_FOOTER={"频道": "indexes/secretchina/p1.md"})
    process(crawler, item())
    page = (mirror_dir / "pages/secretchina/2024-05/06/1100001.md").read_text("utf-8")
    lines = page.split("\n")
    assert lines[2] == "[首页](../../../../README.md) | [关于](https://example.org/about)"
    assert lines[-2] == "[频道](../../../../indexes/secretchina/p1.md)"


@pytest.mark.parametrize("html_in, links, shown", [
    ("<p>东航官网 www.ceair.com主页面 737-800 机龄6.8年。</p>",
     [("http://www.ceair.com", "www.ceair.com")],
     "东航官网 www.ceair.com主页面 737-800 机龄6.8年。"),
    ("<p>https://vaccineinjurysupport.ca/en/submit-a-claim</p>",
     [("https://vaccineinjurysupport.ca/en/submit-a-claim",) * 2],
     "https://vaccineinjurysupport.ca/en/submit-a-claim"),
    ("<p>见(https://x.org/a_(b))，https://a.b/c?d=1&amp;e=2。<code>http://c.d</code></p>",
     [("https://x.org/a_(b)",) * 2, ("https://a.b/c?d=1&e=2",) * 2],
     "见(https://x.org/a_(b))，https://a.b/c?d=1&e=2。http://c.d"),
    ("<p><b>粗</b>见 https://a.org/x。与 www.b.org、http:// 空</p>",
     [("https://a.org/x",) * 2, ("http://www.b.org", "www.b.org")],
     "粗见 https://a.org/x。与 www.b.org、http:// 空"),
])
def test_bare_urls_link_where_they_end_on_github(html_in, links, shown):
    out = to_markdown(html_in)
    root = lxml.html.fragment_fromstring(render_gfm(out), create_parent="div")
    assert [(a.get("href"), a.text_content()) for a in root.iter("a")] == links
    assert root.text_content().strip() == shown
    assert page_problems(Path("."), "page.md", out) == []


@pytest.mark.parametrize("title", [
    "见 https://x.org/a-b_c 与 www.ceair.com主页面", "ftp://h.org/f.txt", "www.x.org"])
def test_urls_in_titles_stay_text_on_github(title):
    root = lxml.html.fragment_fromstring(render_gfm(f"# {escape_md(title)}"))
    assert root.tag == "h1" and len(root) == 0 and root.text == title


def test_without_a_base_url_a_page_has_no_share_block(make_crawler, mirror_dir):
    it = item()
    process(make_crawler(MIRROR_BASE_URL=""), it)
    page = (mirror_dir / it.page_path).read_text("utf-8")
    assert it.public_url == it.qr_path == ""
    assert "二维码" not in page and "](/" not in page and "<>" not in page
    assert f"原文地址：<{it.url}>" in page
