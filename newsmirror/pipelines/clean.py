"""Clean: the site's article markup -> safe article HTML.

Site boilerplate (ads, hidden spans, the copyright line, appeals) is removed
by the rules of the article's site (its SiteProfile); nh3 then keeps only
article markup, so no script, event handler or javascript:/data: URL
reaches a published page.
"""
from __future__ import annotations

import functools
import re
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree
from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newsmirror.sites import SiteProfile, profile
from newsmirror.pipelines.workers import Workers

ALLOWED_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u",
    "s", "del", "sub", "sup", "blockquote", "ul", "ol", "li", "table",
    "thead", "tbody", "tr", "th", "td", "a", "img", "figure", "figcaption",
    "hr", "pre", "code",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
URL_SCHEMES = {"http", "https"}
BLOCKS = {"p", "div", "center", "section", "blockquote", "li", "table", "h1",
          "h2", "h3", "h4", "figure"}
# HTML's white space (not U+00A0, which is text).
HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
PRE_BLOCK = re.compile(r"(<pre\b.*?</pre>)", re.S)
# A paragraph with nothing to read (what was in it was boilerplate).
EMPTY_PARAGRAPH = re.compile(r"<p>(?: |<br>)*</p>")
# WordPress draws emoji as images from its CDN (s.w.org); the alt is the
# character itself.
EMOJI_IMAGE_PATH = "/images/core/emoji/"
EMOJI_IMAGE_CLASSES = {"emoji", "wp-smiley"}
CF_EMAIL_PAGE = "/cdn-cgi/l/email-protection"
CF_PLACEHOLDER = re.compile(r"\[email\s*protected\]")


def _cut_from_marker(root, first_marker) -> None:
    """Remove everything from the first end-of-article marker onwards."""
    for hit in first_marker(root):
        el = hit.getparent()
        if hit.is_tail:
            el.tail = None
            start = el.getnext()
            if start is None:
                start = el.getparent()
                while start is not root and start.getnext() is None:
                    start = start.getparent()
                start = None if start is root else start.getnext()
        elif el is root:
            continue
        else:
            start = el
        node = start
        while node is not None and node is not root:
            parent = node.getparent()
            for sib in list(node.itersiblings()):
                parent.remove(sib)
            if node is start:
                node.tail = None
                parent.remove(node)
            node = parent
        return


def _web_url(url: str | None) -> bool:
    """http(s) or relative, as a browser reads it (it ignores blanks and
    control characters, so " java\tscript:" is a javascript: URL)."""
    url = re.sub(r"[\x00-\x20]", "", url or "")
    return bool(url) and urlsplit(url).scheme.lower() in ("", "http", "https")


def _absolute(base_url: str, url: str | None) -> str | None:
    """url made absolute, or None if it is not a web URL."""
    if not _web_url(url):
        return None
    try:
        return urljoin(base_url, url.strip())
    except ValueError:
        return None


def _video_link(el) -> str | None:
    src = el.get("src") or next(
        (s.get("src") for s in el.iter("source") if s.get("src")), None)
    return src


def cf_decode(hexstr: str) -> str:
    """Cloudflare's e-mail obfuscation: hex bytes XOR the first byte."""
    data = bytes.fromhex(hexstr)
    return bytes(b ^ data[0] for b in data[1:]).decode("utf-8", "replace")


def _decode_emails(root) -> None:
    """Put back the text Cloudflare hid behind its e-mail protection page
    (its script does so in a browser); the link to that page is useless."""
    for el in root.xpath(".//*[@data-cfemail]"):
        try:
            address = cf_decode(el.get("data-cfemail"))
        except ValueError:
            continue
        for node in el.iter():
            if node.text and CF_PLACEHOLDER.search(node.text):
                node.text = CF_PLACEHOLDER.sub(address, node.text, count=1)
                break
    for a in root.xpath(f".//a[contains(@href, '{CF_EMAIL_PAGE}')]"):
        a.drop_tag()


def _emoji_as_text(root) -> None:
    """An emoji image becomes its character: text reads anywhere, and the
    image (an SVG on a third host) would be a download per emoji."""
    for img in list(root.iter("img")):
        alt = (img.get("alt") or "").strip()
        if alt and len(alt) <= 8 and (
                EMOJI_IMAGE_PATH in (img.get("src") or "")
                or EMOJI_IMAGE_CLASSES & set((img.get("class") or "").split())):
            img.tail = alt + (img.tail or "")
            img.drop_tree()  # keeps its tail


def _collapse_space(html: str) -> str:
    """Collapse white space as a browser does (not in <pre>); a converter
    reads a blank line inside a paragraph as a paragraph break. Run on the
    sanitiser's output, whose tags and attributes are normalised."""
    parts = PRE_BLOCK.split(html)
    parts[::2] = [HTML_SPACE.sub(" ", part) for part in parts[::2]]
    return "".join(parts)


def _boilerplate(root, site: SiteProfile) -> list:
    """The elements below root that are never part of an article, in
    document order; one walk in Python is four times faster than the
    same rules as XPath predicates."""
    found = []
    for el in root.iterdescendants(etree.Element):
        el_id = el.get("id") or ""
        if (el.tag in site.boilerplate_tags or _hidden(el)
                or el_id in site.boilerplate_ids
                or el_id.startswith(site.boilerplate_id_prefixes)
                or any(el.tag == tag and part in (el.get("class") or "")
                       for tag, part in site.boilerplate_classes)):
            found.append(el)
    return found


def _hidden(el) -> bool:
    style = el.get("style")
    return style is not None and "display:none" in style.replace(" ", "")


@functools.cache
def _text_queries(texts: tuple[str, ...], end_markers: tuple[str, ...]):
    """Blocks with boilerplate text, and text with an end-of-article marker,
    as compiled XPath queries, each one walk over the tree."""
    blocks = " | ".join(f".//{tag}" for tag in sorted(BLOCKS))

    def containing(markers):
        # No markers: a predicate that holds nowhere.
        return " or ".join(f"contains(., {_xpath_literal(m)})"
                           for m in markers) or "false()"
    return (etree.XPath(f"({blocks})[{containing(texts)}]"),
            etree.XPath(f".//text()[{containing(end_markers)}]"))


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return f'"{text}"'


def clean_body(html: str, site: SiteProfile, base_url: str) -> str:
    """Return the article's own HTML, absolute links, nothing unsafe."""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    boilerplate_blocks, end_marker = _text_queries(
        site.boilerplate_text, site.end_marker_text)
    for el in _boilerplate(root, site):
        el.drop_tree()
    _cut_from_marker(root, end_marker)
    _decode_emails(root)
    _emoji_as_text(root)
    for el in boilerplate_blocks(root):
        el.drop_tree()
    for p in list(root.iter("p")):
        if site.source_label.match(p.text_content()):
            p.drop_tree()
    # Embedded media are content: keep them as links, never as players.
    for el in list(root.iter("iframe", "video", "embed", "object", "audio")):
        src = _video_link(el) or el.get("data")
        if _web_url(src) and el.getparent() is not None:
            title = (el.get("title") or el.text_content().strip() or "视频")
            link = lxml.html.fragment_fromstring(
                "<p><a></a></p>").find("a")
            link.set("href", src)
            link.text = f"▶ {title}"
            el.addprevious(link.getparent())
        if el.getparent() is not None:
            el.drop_tree()
    for a in list(root.iter("a")):
        # Links without a target would render as "[text]()": keep the text.
        href = _absolute(base_url, a.get("href"))
        if href is None or a.get("href").startswith("#"):
            a.drop_tag()
        else:
            a.set("href", href)
    for img in list(root.iter("img")):
        src = _absolute(base_url, img.get("src"))
        if src is None:
            img.drop_tree()  # keeps the text after it
        else:
            img.set("src", src)
    _caption_images(root)
    out = nh3.clean(lxml.html.tostring(root, encoding="unicode"),
                    tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                    url_schemes=URL_SCHEMES, link_rel=None, strip_comments=True)
    return EMPTY_PARAGRAPH.sub("", _collapse_space(out)).strip()


def _caption_images(root) -> None:
    """Give each image its caption as alt text: the text after it in its
    block (the site's img, br, caption), else its own alt, else the text
    before it (which may belong to a link, not to the picture)."""
    for img in root.iter("img"):
        block = img.getparent()
        while block is not None and block.tag not in BLOCKS and block is not root:
            block = block.getparent()
        if block is None or block is root or len(block.findall(".//img")) != 1:
            continue
        # A private-use character marks where the image stands in the text.
        tail, img.tail = img.tail, "\ue000" + (img.tail or "")
        before, _, after = block.text_content().partition("\ue000")
        img.tail = tail
        caption = " ".join(after.split()) or img.get("alt") or " ".join(before.split())
        if caption:
            img.set("alt", caption)


def images_of(root) -> list[dict]:
    return [{"src": img.get("src"), "caption": img.get("alt") or ""}
            for img in root.iter("img") if img.get("src")]


def clean_article(html: str, site: SiteProfile,
                  base_url: str) -> tuple[str, list[dict], bool]:
    """The clean body, its images, and whether any text or image is left."""
    body = clean_body(html, site, base_url)
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    images = images_of(root)
    return body, images, bool(images or root.text_content().strip())


class CleanPipeline:
    """Cleans in the crawl's worker processes (newsmirror.pipelines.workers): the
    heaviest stage, and pure CPU."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.workers = Workers.of(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        body, images, has_content = await self.workers.run(
            type(self).__name__, clean_article, adapter["body_html"],
            profile(adapter["site"]), adapter["url"])
        adapter["body_html"], adapter["images"] = body, images
        if not has_content:
            self.crawler.stats.inc_value("newsmirror/dropped/empty_body")
            raise DropItem(f"no article text left after cleaning: {adapter['url']}")
        # The page's own lead image only if it is the article's: sites put
        # logos and ads there too.
        srcs = [i["src"] for i in images]
        if adapter.get("lead_image") not in srcs:
            adapter["lead_image"] = srcs[0] if srcs else ""
        return item
