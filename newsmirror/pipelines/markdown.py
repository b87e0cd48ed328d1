"""Markdown export: the cleaned article -> its page (mirror.layout.page_path).

Converting the body and writing the page are pure CPU and file creation:
they run in the crawl's worker processes (newsmirror.pipelines.workers),
off the reactor thread, which only works out where the page goes."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

import html_to_markdown as h2m
import lxml.html
from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newsmirror.mirror import body, layout
from newsmirror.mirror.files import UnsafePath, inside, write_atomic
from newsmirror.mirror.render import article_page, menus, tidy
from newsmirror.pipelines.workers import Workers
from newsmirror.sites import profile

# Escape everything that could turn article text into Markdown syntax.
# Every choice is an enum member, not its name: html-to-markdown looks each
# name up again on every call (a sixth of the conversion's time).
MARKDOWN_OPTIONS = h2m.ConversionOptions(
    heading_style=h2m.HeadingStyle.ATX, bullets="-", strong_em_symbol="*",
    escape_asterisks=True, escape_underscores=True, escape_misc=True,
    newline_style=h2m.NewlineStyle.BACKSLASH, autolinks=False,
    list_indent_type=h2m.ListIndentType.SPACES,
    highlight_style=h2m.HighlightStyle.DOUBLE_EQUAL,
    whitespace_mode=h2m.WhitespaceMode.NORMALIZED,
    code_block_style=h2m.CodeBlockStyle.BACKTICKS,
    inline_data_media=h2m.InlineDataMedia.KEEP,
    hidden_content=h2m.HiddenContent.DROP,
    url_escape_style=h2m.UrlEscapeStyle.ANGLE,
    link_style=h2m.LinkStyle.INLINE,
    output_format=h2m.OutputFormat.MARKDOWN,
    tier_strategy=h2m.TierStrategy.AUTO,
)


EMPHASIS = ("strong", "b", "em", "i")
HAS_EMPHASIS = re.compile(r"<(?:strong|b|em|i)\b")

# What GitHub's autolink extension links in text (a web address runs on to
# the next space, through Chinese text and escapes): here it ends at the
# first character no URL holds unencoded, as a reader would end it.
URL_START = re.compile(r"(?<![A-Za-z0-9])(?:(?:https?|ftp)://|www\.)")
BARE_URL = re.compile(URL_START.pattern + r"[!#-;=?-\[\]-~]+")
URL_TAIL_PUNCT = ".,:;!?*_~'"
NOT_LINKED = ("a", "code", "pre")


class _QuoteBlocks:
    """html-to-markdown glues a quote to the paragraph line before it and
    to a quote right after it (two tweets become one): give each its own
    block."""

    def visit_blockquote(self, ctx, content, depth):
        body = re.sub(r"\n{3,}", "\n\n", content.strip("\n"))
        quoted = "\n".join(f"> {line}".rstrip() for line in body.split("\n"))
        return {"type": "custom", "output": f"\n\n{quoted}\n\n"}


QUOTE_BLOCKS = _QuoteBlocks()


def _punct(ch: str) -> bool:
    # CommonMark's punctuation: Unicode categories P and S.
    return unicodedata.category(ch)[0] in "PS"


def _edge(text: str, leading: bool) -> int:
    """Length of the white space and punctuation at one end of text."""
    chars = text if leading else reversed(text)
    n = 0
    for ch in chars:
        if not (ch.isspace() or _punct(ch)):
            break
        n += 1
    return n


def _move_out(em, child, leading: bool) -> None:
    """Put an edge child of em (a link keeps the emphasis inside it) outside."""
    if child.tag == "a":
        inner = lxml.html.Element(em.tag)
        inner.text, child.text = child.text, None
        inner.extend(list(child))
        child.append(inner)
    tail, child.tail = child.tail or "", None
    em.remove(child)
    if leading:
        em.text = tail + (em.text or "")
        em.addprevious(child)
    else:
        child.tail, em.tail = tail + (em.tail or ""), None
        em.addnext(child)


def _wedged(ch: str) -> bool:
    """Whether a delimiter between ch (outside) and punctuation (inside)
    fails to open or close emphasis."""
    return bool(ch) and not (ch.isspace() or _punct(ch))


def _char_before(em) -> str:
    before = em.getprevious()
    if before is not None:
        return (before.tail or "")[-1:]
    parent = em.getparent()
    if parent.tag in EMPHASIS and not (parent.text or "").strip():
        return _char_before(parent)  # the delimiters run together
    return (parent.text or "")[-1:]


def _char_after(em) -> str:
    parent = em.getparent()
    if not (em.tail or "").strip() and parent.tag in EMPHASIS \
            and em.getnext() is None:
        return _char_after(parent)
    return (em.tail or "")[:1]


def _fit_one(em) -> bool:
    """One change to em that CommonMark needs; False when none is left."""
    wedged_before, wedged_after = _wedged(_char_before(em)), _wedged(_char_after(em))
    if wedged_before and len(em) and not (em.text or "").strip() \
            and em[0].tag in ("a", "img", "br"):
        _move_out(em, em[0], leading=True)
        return True
    if wedged_after and len(em) and not (em[-1].tail or "").strip() \
            and em[-1].tag in ("a", "img", "br"):
        _move_out(em, em[-1], leading=False)
        return True
    n = _edge(em.text or "", leading=True)
    if n and wedged_before:
        moved, em.text = em.text[:n], em.text[n:]
        before = em.getprevious()
        if before is not None:
            before.tail = (before.tail or "") + moved
        else:
            em.getparent().text = (em.getparent().text or "") + moved
        return True
    last = em[-1] if len(em) else None
    text = (last.tail if last is not None else em.text) or ""
    n = _edge(text, leading=False)
    if n and wedged_after:
        text, moved = text[:len(text) - n], text[len(text) - n:]
        if last is not None:
            last.tail = text
        else:
            em.text = text
        em.tail = moved + (em.tail or "")
        return True
    return False


def _fit_emphasis(root) -> None:
    """CommonMark reads ** as bold only if it is not wedged between a letter
    and punctuation ("他说**“不”**。" stays literal), and a link or image
    starts with punctuation ([, !): put those edges outside the emphasis."""
    for em in reversed(list(root.iter(*EMPHASIS))):
        while _fit_one(em):
            pass
        if not len(em) and not (em.text or "").strip():
            em.drop_tag()


def _url_end(url: str) -> str:
    """The URL without the punctuation that ends the sentence around it."""
    while url:
        if url[-1] in URL_TAIL_PUNCT:
            url = url[:-1]
        elif url[-1] == ")" and url.count(")") > url.count("("):
            url = url[:-1]
        else:
            break
    return url


def _bare_links(text: str) -> tuple[str, list]:
    """text as its start and the <a> elements (with what follows each as
    tail) of the bare URLs in it."""
    links, start, last = [], text, 0
    for m in BARE_URL.finditer(text):
        url = _url_end(m[0])
        if not re.search(r"[A-Za-z0-9]", url.split("://")[-1].removeprefix("www.")):
            continue  # no host
        a = lxml.html.Element("a", href=url if "://" in url else f"http://{url}")
        a.text = url
        if links:
            links[-1].tail = text[last:m.start()]
        else:
            start = text[:m.start()]
        links.append(a)
        last = m.start() + len(url)
    if links:
        links[-1].tail = text[last:]
    return start, links


def _link_bare_urls(root) -> None:
    """Bare URLs in text as explicit links, ending where the URL ends."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or any(
                a.tag in NOT_LINKED for a in el.iterancestors()):
            continue
        if el.tag not in NOT_LINKED and el.text:
            el.text, links = _bare_links(el.text)
            for i, a in enumerate(links):
                el.insert(i, a)
        if el is not root and el.tail:
            start, links = _bare_links(el.tail)
            if links:
                el.tail = start
                for a in reversed(links):
                    el.addnext(a)


def _has_bare_url(html: str) -> bool:
    """Whether a URL starts in text, not in a tag (where every link and
    image has one), seven times as fast as one regular expression."""
    return any(html.rfind("<", 0, m.start()) < html.rfind(">", 0, m.start())
               for m in URL_START.finditer(html))


def to_markdown(body_html: str) -> str:
    emphasis = HAS_EMPHASIS.search(body_html)
    bare_url = _has_bare_url(body_html)
    if emphasis or bare_url:
        root = body.parse(body_html)
        if bare_url:
            _link_bare_urls(root)
        if emphasis:
            _fit_emphasis(root)
        body_html = lxml.html.tostring(root, encoding="unicode")
    # A Python visitor slows the whole conversion down (a call per node):
    # only bodies with a quote need it.
    visitor = QUOTE_BLOCKS if "<blockquote" in body_html else None
    return tidy(h2m.convert(body_html, MARKDOWN_OPTIONS, visitor=visitor).content)


# What article_page() reads of the item, besides the body.
PAGE_FIELDS = ("site", "channel", "title", "published", "url", "source", "tags",
               "page_path", "public_url", "qr_path")


def write_page(target: Path, body_html: str, fields: dict, channel_name: str,
               menu: tuple, footer: tuple) -> tuple[str, bool]:
    """The body as Markdown, and whether the page at target was written
    (False: it was there already, the same)."""
    body_markdown = to_markdown(body_html)
    page = article_page(fields | {"body_markdown": body_markdown},
                        channel_name, menu, footer)
    return body_markdown, write_atomic(target, page)


def public_url(base_url: str, relpath: str) -> str:
    """Where relpath is published; none without MIRROR_BASE_URL."""
    return f"{base_url.rstrip('/')}/{quote(relpath)}" if base_url else ""


class MarkdownPagePipeline:
    def __init__(self, crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.mirror_dir = Path(settings.get("MIRROR_DIR"))
        self.base_url = settings.get("MIRROR_BASE_URL")
        self.site_menus: dict[str, tuple[tuple, tuple]] = {}
        self.workers = Workers.of(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def menus_of(self, site: str) -> tuple[tuple, tuple]:
        """A page's menus link its own site's channels."""
        if site not in self.site_menus:
            self.site_menus[site] = menus(self.crawler.settings, [profile(site)])
        return self.site_menus[site]

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        page_path = layout.page_path(adapter["site"], adapter["id"],
                                     adapter["published"])
        try:
            target = inside(self.mirror_dir, page_path)
        except UnsafePath:
            self.stats.inc_value("newsmirror/dropped/unsafe_path")
            raise DropItem(f"page path would leave the mirror: {page_path!r} "
                           f"for {adapter['url']}")
        adapter["page_path"] = page_path
        adapter["public_url"] = public_url(self.base_url, page_path)
        # A QR code of a path the reader's phone cannot open would mislead.
        adapter["qr_path"] = layout.qr_path(page_path) if self.base_url else ""
        channel = adapter["channel"]
        adapter["body_markdown"], written = await self.workers.run(
            type(self).__name__, write_page, target, adapter["body_html"],
            {name: adapter[name] for name in PAGE_FIELDS},
            profile(adapter["site"]).channels.get(channel, channel),
            *self.menus_of(adapter["site"]))
        if written:
            self.stats.inc_value("newsmirror/pages_written")
        return item
