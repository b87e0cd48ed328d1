"""Clean: the site's markup in, the article's own safe HTML out."""
import pytest
from scrapy.exceptions import DropItem

from newsmirror.pipelines.clean import CleanPipeline, clean_body
from newsmirror.sites.secretchina import SECRETCHINA
from tests.conftest import run_closing, sample_page

URL = "https://www.secretchina.com/news/gb/2024/05/06/1100001.html"


def body_of(relpath):
    return sample_page(relpath).css("div.article_right").get()


@pytest.fixture
def cleaned():
    return clean_body(body_of("news/gb/2024/05/06/1100001.html"), SECRETCHINA, URL)


def test_keeps_the_article(cleaned):
    assert "西南某县一所山区小学" in cleaned
    assert "<h2>" in cleaned and "村民：读书是最好的礼物" in cleaned
    assert "<blockquote>" in cleaned
    assert "每人每次两本" in cleaned
    assert "责任编辑:李明" in cleaned


@pytest.mark.parametrize("leak", [
    "div-gpt-ad", "adsbygoogle", "txt-mid", "SC-22", "hideid", "display:none",
    "本文短网址", "严禁建立镜像网站", "版权所有", "诚征荣誉会员", "kzgmembership",
    "来源:", "<input", "onclick", "javascript:", "<script", "style=",
])
def test_removes_boilerplate(cleaned, leak):
    assert leak not in cleaned


def test_hidden_span_text_is_gone():
    cleaned = clean_body(body_of("news/gb/2024/05/07/1100002.html"), SECRETCHINA, URL)
    # The hidden anti-copy span holds the site name.
    assert cleaned.count("看中国") == cleaned.count("【看中国")


def test_image_keeps_its_caption_as_alt(cleaned):
    assert ('<img alt="山区小学的孩子们在新图书馆里读书。（示意图/图片来源：Pixabay)" '
            'src="https://img3.secretchina.com/pic/2024/5-6/p100001-ss.jpg">') in cleaned


def test_links_made_absolute():
    html = '<div class="article_right"><p><a href="/news/gb/tag/x">x</a></p></div>'
    out = clean_body(html, SECRETCHINA, URL)
    assert '<a href="https://www.secretchina.com/news/gb/tag/x">x</a>' in out


def test_strips_scripts_handlers_and_unsafe_urls():
    html = ('<div class="article_right"><p onclick="evil()">正文'
            '<a href="javascript:alert(1)">坏链接</a>'
            '<img src="data:image/png;base64,AAAA" onerror="x()">'
            '<script>alert(1)</script><style>p{}</style>'
            '<iframe src="javascript:alert(2)"></iframe></p></div>')
    out = clean_body(html, SECRETCHINA, URL)
    for bad in ("onclick", "javascript:", "data:", "onerror", "<script",
                "alert", "<style", "<iframe"):
        assert bad not in out
    assert "正文" in out and "坏链接" in out


def test_video_iframe_becomes_a_link():
    cleaned = clean_body(body_of("news/gb/2024/05/11/1100006.html"), SECRETCHINA, URL)
    assert "<iframe" not in cleaned
    assert ('<a href="https://www.youtube.com/embed/dQw4w9WgXcQ">'
            '▶ 联合声明发布会（视频）</a>') in cleaned


def test_pipeline_sets_images_and_drops_empty_articles(crawler):
    pipeline = CleanPipeline.from_crawler(crawler)
    item = crawler.spider.parse_article(
        sample_page("news/gb/2024/05/10/1100005.html"), "p5", "", "")
    empty = crawler.spider.parse_article(
        sample_page("news/gb/2024/05/10/1100005.html"), "p5", "", "")
    empty.body_html = ('<div class="article_right"><div id="div-gpt-ad-1"></div>'
                       '<p>本文短网址: x 严禁建立镜像网站</p></div>')

    async def clean_both():
        await pipeline.process_item(item)
        with pytest.raises(DropItem):
            await pipeline.process_item(empty)
    run_closing(pipeline.workers, clean_both)
    assert [i["caption"] for i in item.images] == [
        "龙舟竞渡。（图片来源：Pixabay）", "各式粽子。（图片来源：Pixabay）"]
    assert item.lead_image == item.images[0]["src"]
    assert crawler.stats.get_value("newsmirror/dropped/empty_body") == 1
    # The cleaning ran in the worker process.
    assert crawler.stats.get_value("newsmirror/cpu_ms/CleanPipeline/worker") > 0


@pytest.mark.parametrize("markup", [
    '<a class="__cf_email__" data-cfemail="5a2a283f29291a3f223b372a363f7435283d" '
    'href="/cdn-cgi/l/email-protection">[email&#160;protected]</a> (@p)',
    # As found in the corpus: the closing tag is a stray </span>.
    '<a class="__cf_email__" data-cfemail="5a2a283f29291a3f223b372a363f7435283d" '
    'href="/cdn-cgi/l/email-protection"> [email protected] </span> (@p)',
    '<a href="/cdn-cgi/l/email-protection#5a2a28"><span class="__cf_email__" '
    'data-cfemail="5a2a283f29291a3f223b372a363f7435283d">[email&#160;protected]</span></a> (@p)',
])
def test_cloudflare_emails_are_decoded(markup):
    out = clean_body(f'<div class="article_right"><p>— {markup}</p></div>', SECRETCHINA, URL)
    assert "press@example.org" in out and "(@p)" in out
    assert "protected" not in out and "cdn-cgi" not in out


def test_white_space_collapses_as_in_a_browser_but_not_in_pre():
    out = clean_body('<div class="article_right"><p>“\n\n  引文\n\n”</p>'
                     '<pre>a\n\n  b</pre></div>', SECRETCHINA, URL)
    assert "<p>“ 引文 ”</p>" in out and "<pre>a\n\n  b</pre>" in out


def test_video_tag_and_untitled_iframe_become_links():
    out = clean_body('<div class="article_right"><p><video title="现场">'
                     '<source src="https://v.example/1.mp4"></video>'
                     '<iframe src="https://player.example/2"></iframe></p></div>',
                     SECRETCHINA, URL)
    assert '<a href="https://v.example/1.mp4">▶ 现场</a>' in out
    assert '<a href="https://player.example/2">▶ 视频</a>' in out
    assert "<video" not in out and "<iframe" not in out


def test_caption_is_the_text_after_the_image_else_its_own_alt():
    out = clean_body('<div class="article_right"><p><a href="/kzgd/x">封面</a><br>'
                     '<img alt="加入会员" src="https://img.example/1.jpg"></p>'
                     '<p>前文<img alt="x" src="https://img.example/2.jpg"><br>图说二</p></div>',
                     SECRETCHINA, URL)
    assert '<img alt="加入会员" src="https://img.example/1.jpg">' in out
    assert '<img alt="图说二" src="https://img.example/2.jpg">' in out


def test_empty_paragraphs_are_dropped():
    html = ("<div><p>一</p><p> </p><p>\n\t</p><p><br></p><p><br/> <br></p>"
            "<p><span class='x'> </span></p><p><img src='/a.jpg'></p><p>二</p></div>")
    assert clean_body(html, SECRETCHINA, URL) == (
        '<p>一</p><p><img src="https://www.secretchina.com/a.jpg"></p><p>二</p>')


def test_an_emoji_drawn_as_an_image_becomes_its_character():
    # As in the soundofhope corpus: WordPress's emoji, an SVG on s.w.org.
    out = clean_body('<div><p>鼓掌<img alt="👏" draggable="false" role="img" '
                     'src="https://s.w.org/images/core/emoji/13.0.0/svg/1f44f.svg"/>！'
                     '<img class="wp-smiley" alt=":)" src="/smile.png">好</p>'
                     '<p><img alt="图" src="/photo.jpg"></p></div>', SECRETCHINA, URL)
    assert out == ('<p>鼓掌👏！:)好</p>'
                   '<p><img alt="图" src="https://www.secretchina.com/photo.jpg"></p>')
