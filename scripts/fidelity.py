#!/usr/bin/env python3
"""Measure how faithfully the mirror reproduces the site's articles.

Builds a source's site from a corpus of mirrored article pages with
sitegen.py, serves it on 127.0.0.1 with serve_site.py (images included;
those on third hosts through asset_proxy.py), runs `scrapy crawl <source>`
on it (twice, into two mirrors), and compares each written page with the
article body of the site page it came from (secretchina:
div.article_right; soundofhope: the lead figure and div.Content__Wrapper…):

  paragraphs  text paragraphs of the body (visible text minus boilerplate)
              found, whitespace-normalised, in the page's Markdown rendered
              by markdown-it-py (CommonMark + tables)
  leaks       ad slots, appeals, copyright/editor lines, audio players,
              hidden-span text, share widgets, raw HTML, links that are
              not the article's (the source's markers, below)
  images      every body image, in order, with its caption beside it, shown
              from the mirror's own copy (a relative link to a valid
              JPEG within the project's caps), never from the site
  structure   headings, bold, lists, quotes, links and embedded media (as
              links) kept as such; a link is absolute, or relative into the
              mirror (a tag page, a mirrored article) and resolves there;
              no body tag link goes to the site
  metadata    title = the page's h1, date = the URL's date (soundofhope: the
              body's dateline), tags = the set of tag links, each tag
              page listing the article, the QR image decoding to the
              page's URL

It prints one row per article and the totals, and exits 1 unless every
target holds (100% paragraphs, 0 leaks, all images, structure, metadata,
and byte-identical pages from the two crawls). The reference is computed
here from the site's markup with rules of its own, not the cleaner's it
measures (only Cloudflare's e-mail decoding is shared).

--faults P serves pages and images with that share of faults (500, 503,
404, cut-short bodies, stalls) and crawls each mirror a second time to
fetch what failed; every mirror is then crawled once more, which must
fetch no article and change no file.

--site DIR measures an already built site instead (served with the
project's own SiteServer), e.g. the bundled sample: newsmirror/sample/site.
Needs markdown-it-py and zxing-cpp (requirements-test.txt).
"""
from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
import zxingcpp
from markdown_it import MarkdownIt
from PIL import Image
from w3lib.url import safe_url_string

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from newsmirror import settings  # noqa: E402
from newsmirror.mirror.layout import HOME, image_path, tag_page_path  # noqa: E402
from newsmirror.pipelines.clean import CF_PLACEHOLDER, cf_decode  # noqa: E402
from newsmirror.sample.server import SiteServer  # noqa: E402
from scripts.asset_proxy import AssetProxy  # noqa: E402

SHARED = ROOT.parent / "shared"

md = MarkdownIt("commonmark").enable("table")

HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
NO_TEXT = ("script", "style", "noscript", "template", "input", "button",
           "select", "textarea", "svg", "canvas")
MEDIA = ("iframe", "video", "embed", "object", "audio")
BLOCKS = {"p", "div", "center", "section", "article", "blockquote", "li",
          "ul", "ol", "table", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
          "h6", "figure", "figcaption", "hr", "br", "pre", "dl", "dt", "dd"}
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
URL_DATE = re.compile(r"/(\d{4})/(\d{1,2})/(\d{1,2})/")
SHARE_WIDGET = ("sharer.php", "twitter.com/intent", "addthis", "分享到")


@dataclass(frozen=True)
class Source:
    """What this scorer knows of one site's markup, written from the site's
    pages, independently of the project's profile."""
    name: str
    real_host: str
    pages: str  # glob of the article pages in a built site
    body_css: str
    lead_css: str  # a lead figure outside the body, or ""
    # What a reader must never see, by kind (matched in the page's Markdown).
    leak_markers: dict[str, tuple[str, ...]]
    # A body paragraph holding one of these is boilerplate, not article text.
    boilerplate_text: tuple[str, ...]
    ad_ids: tuple[str, ...]  # id prefixes of elements that are not article
    ad_classes: tuple[str, ...]  # class parts of such elements
    source_line: re.Pattern  # the source line: metadata, not text
    tag_href: re.Pattern  # tag links: group "tag", else the link's text
    article_href: re.Pattern  # article links, group "id"
    dateline: re.Pattern | None  # the date in the body, else the URL's
    # The site's image hosts (group 1), which the loopback server serves
    # from /_hosts/<host>/.
    image_hosts: re.Pattern
    # Elements linking here are boilerplate, with their block.
    boilerplate_links: tuple[str, ...] = ()


SOURCES = {s.name: s for s in (
    Source(
        name="secretchina", real_host="https://www.secretchina.com",
        pages="news/gb/*/*/*/*.html", body_css="div.article_right", lead_css="",
        leak_markers={
            "ad slot": ("div-gpt-ad", "adsbygoogle", "txt-mid", "taboola", "SC-2"),
            "membership appeal": ("诚征荣誉会员", "kzgmembership", "/kzgd/ad/"),
            "short URL/copyright": ("本文短网址", "kzg.io/", "任何形式转载需看中国授权许可",
                                    "严禁建立镜像网站"),
            "share widget": SHARE_WIDGET,
        },
        boilerplate_text=("本文短网址", "任何形式转载需看中国授权许可", "严禁建立镜像网站",
                          "诚征荣誉会员"),
        ad_ids=("div-gpt-ad", "txt-mid", "SC-", "taboola", "nofree", "nofeepop"),
        ad_classes=("adsbygoogle",),
        source_line=re.compile(r"^来源\s*[:：]\s*(?P<source>\S.*)$"),
        tag_href=re.compile(r"/news/gb/tag/(?P<tag>[^/?#]+)"),
        article_href=re.compile(r"/news/gb/(?:\d{4}/\d{1,2}/\d{1,2}/)?(?P<id>\d+)\.html?$"),
        dateline=None,
        image_hosts=re.compile(r"https?://(img\d*\.secretchina\.com)/"),
        boilerplate_links=("诚征荣誉会员", "kzgmembership", "/kzgd/ad/")),
    Source(
        name="soundofhope", real_host="https://www.soundofhope.org",
        pages="post/*", body_css="div.post-btm > div[class*=Content__Wrapper]",
        lead_css="div.post-btm > figure",
        leak_markers={
            "ad slot": ("AD_Embed", "adsbygoogle"),
            "editor/copyright line": ("责任编辑", "責任編輯", "希望之声版权所有",
                                      "希望之聲版權所有", "转载请注明希望之声",
                                      "轉載請註明希望之聲"),
            "audio player": ("128kbps", "media.soundofhope.org"),
            "share widget": SHARE_WIDGET,
        },
        boilerplate_text=("责任编辑", "責任編輯", "希望之声版权所有", "希望之聲版權所有",
                          "本文章或节目经希望之声编辑制作", "本文章或節目經希望之聲編輯製作"),
        ad_ids=(),
        ad_classes=("AD_Embed__Wrap", "AudioCompact__Wrap", "adsbygoogle"),
        source_line=re.compile(r"^文章[来來]源\s*[:：]\s*(?P<source>\S.*)$"),
        tag_href=re.compile(r"^/term/\d+$"),
        article_href=re.compile(r"^/post/(?P<id>\d+)$"),
        dateline=re.compile(r"【希望之[声聲](\d{4})年(\d{1,2})月(\d{1,2})日】"),
        image_hosts=re.compile(r"(?:https?:)?//((?:img|media)\.soundofhope\.org)/")),
)}


def norm(text: str) -> str:
    """Whitespace-normalised: runs become one space, and spaces next to
    CJK text (where the site's pretty-printed markup put line breaks) go."""
    text = " ".join(text.split())
    return re.sub(r" (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) ", "", text)


def segments(root, elements: list | None = None) -> list[str]:
    """The text of root split at block elements and <br>, normalised;
    elements, if given, gets the inline elements of each segment."""
    out, els = [""], [[]]

    def walk(el):
        block = el.tag in BLOCKS
        if block:
            out.append("")
            els.append([])
        else:
            els[-1].append(el)
        out[-1] += el.text or ""
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            out[-1] += child.tail or ""
        if block:
            out.append("")
            els.append([])

    walk(root)
    kept = [(norm(s), e) for s, e in zip(out, els) if norm(s)]
    if elements is not None:
        elements.extend(e for _, e in kept)
    return [s for s, _ in kept]


def bare_url_linked(a, article_text: str) -> bool:
    """A URL the article shows as text, linked to itself (as GitHub would)."""
    text = a.text_content()
    return text in article_text and a.get("href") in (text, f"http://{text}")


def strip_punct(text: str) -> str:
    while text and unicodedata.category(text[0])[0] in "PSZ":
        text = text[1:]
    while text and unicodedata.category(text[-1])[0] in "PSZ":
        text = text[:-1]
    return text


def norm_href(href: str, base: str, served: str = "",
              real_host: str = "") -> str:
    """href absolute, the loopback server's address put back to the real
    host's (and its /_hosts/<host>/ to https://<host>/)."""
    href = urljoin(base, href.strip())
    domain = urlsplit(real_host).netloc.removeprefix("www.")
    host = urlsplit(href).netloc
    if domain and href.startswith("http://") and (
            host == domain or host.endswith(f".{domain}")):
        href = "https" + href[4:]  # the site and its hosts are https
    if served and href.startswith(f"{served}/_hosts/"):
        href = "https://" + href[len(f"{served}/_hosts/"):]
    elif served and href.startswith(served):
        href = real_host + href[len(served):]
    return unquote(href).strip()


@dataclass
class Reference:
    """What the article body shows a reader, from the site's markup."""
    title: str
    url: str
    paragraphs: list[str]
    source: str
    images: list[tuple[str, str, str]]  # (src, caption, src as requested)
    headings: list[tuple[str, str]]
    bold: list[str]
    lists: list[tuple[str, list[str]]]
    quotes: list[list[str]]
    links: Counter  # (href, text)
    media: list[str]
    tags: set[str]
    hidden_text: list[str]
    text: str  # the article's own text, to tell leaks from it
    visible: str  # every visible text of the body, boilerplate too
    date: str  # YYYY-MM-DD
    tag_links: dict[str, str]  # href -> the tag it links to


def reference(page_html: bytes, page_url: str, site: Source) -> Reference:
    doc = lxml.html.document_fromstring(page_html)
    url = (doc.xpath('//link[@rel="canonical"]/@href') or [page_url])[0]
    title = " ".join(" ".join(doc.xpath("//h1//text()")).split())
    body = lxml.html.Element("div")
    if site.lead_css:
        body.extend(doc.cssselect(site.lead_css)[:1])
    body.append(doc.cssselect(site.body_css)[0])
    date = (site.dateline or URL_DATE).search(
        body.text_content() if site.dateline else url)
    date = f"{date[1]}-{int(date[2]):02d}-{int(date[3]):02d}" if date else ""
    # A browser shows what Cloudflare's script decodes.
    for el in body.xpath(".//*[@data-cfemail]"):
        for node in el.iter():
            if CF_PLACEHOLDER.search(node.text or ""):
                node.text = CF_PLACEHOLDER.sub(cf_decode(el.get("data-cfemail")),
                                               node.text, count=1)
                break
    # A browser shows WordPress's emoji images as small pictures of the
    # characters in their alt text.
    for img in body.xpath('.//img[contains(@src, "/images/core/emoji/")]'):
        img.tail = (img.get("alt") or "") + (img.tail or "")
        img.drop_tree()
    hidden = []
    for el in list(body.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if el.tag in NO_TEXT or HIDDEN.search(el.get("style") or "") \
                or el.get("hidden") is not None \
                or el.get("id", "").startswith(site.ad_ids or "\0") \
                or any(c in (el.get("class") or "") for c in site.ad_classes):
            if HIDDEN.search(el.get("style") or ""):
                hidden.append(norm(el.text_content()))
            el.drop_tree()

    def boilerplate(el) -> bool:
        return any(node.get("data-boilerplate") is not None or any(
            m in (node.get("href") or "") + (node.get("src") or "")
            for m in site.boilerplate_links)
            for node in [*el.iterancestors(), *el.iter()])

    # The source line is metadata: the page shows it in its header.
    for p in body.iter("p"):
        if site.source_line.match(norm(p.text_content())):
            for a in p.iter("a"):
                a.set("data-source-line", "")
    paragraphs, source, inline = [], "", []
    for seg, elements in zip(segments(body, inline), inline):
        if any(m in seg for m in site.boilerplate_text):
            for el in elements:
                el.set("data-boilerplate", "")
            continue
        m = site.source_line.match(seg)
        if m:
            source = m.group("source")
            continue
        paragraphs.append(seg)
    images = []
    for img in body.iter("img"):
        if not img.get("src") or boilerplate(img):
            continue
        block = next(a for a in img.iterancestors() if a.tag in BLOCKS)
        images.append((norm_href(img.get("src"), url, "", site.real_host),
                       norm(block.text_content()) if block is not body else "",
                       urljoin(url, img.get("src").strip())))
    headings = [(h.tag, norm(h.text_content())) for h in body.iter(*HEADINGS)
                if norm(h.text_content())]
    bold = [t for b in body.iter("strong", "b")
            if not any(a.tag in HEADINGS for a in b.iterancestors())
            for t in [strip_punct(norm(b.text_content()))] if t]
    lists = [(lst.tag, [norm(li.text_content()) for li in lst.iterchildren("li")])
             for lst in body.iter("ul", "ol")]
    quotes = [segments(q) for q in body.iter("blockquote")]
    links, tags, tag_links = Counter(), set(), {}
    for a in body.iter("a"):
        href = a.get("href") or ""
        if not href or href.startswith(("#", "javascript:", "mailto:")) \
                or "/cdn-cgi/" in href or boilerplate(a):
            continue
        tag = site.tag_href.search(urlsplit(href).path)
        href = norm_href(href, url, "", site.real_host)
        if tag:
            tag_links[href] = norm(unquote(tag.group("tag")) if "tag" in tag.re.groupindex
                                   else a.text_content())
            tags.add(tag_links[href])
        if a.get("data-source-line") is None:
            links[(href, norm(a.text_content()))] += 1
    media = [norm_href(src, url, "", site.real_host) for el in body.iter(*MEDIA)
             for src in [el.get("src") or el.get("data")
                         or next(iter(el.xpath(".//source/@src")), "")] if src]
    return Reference(title, url, paragraphs, source, images, headings, bold,
                     lists, quotes, links, media, tags,
                     [h for h in hidden if h], "\n".join([*paragraphs, source]),
                     norm(body.text_content()), date, tag_links)


@dataclass
class Result:
    page: str
    channel: str = ""
    paragraphs: tuple[int, int] = (0, 0)
    leaks: int = 0
    images: tuple[int, int] = (0, 0)
    structure: tuple[int, int] = (0, 0)
    metadata: tuple[int, int] = (0, 0)
    failures: list[str] = field(default_factory=list)

    @property
    def perfect(self) -> bool:
        return not self.failures


class Scorer:
    """Counts passed checks of one kind and records what failed."""

    def __init__(self, result: Result):
        self.result, self.passed, self.total = result, 0, 0

    def check(self, ok: bool, what: str) -> None:
        self.total += 1
        self.passed += bool(ok)
        if not ok:
            self.result.failures.append(what)

    @property
    def score(self) -> tuple[int, int]:
        return self.passed, self.total


def body_tokens(tokens):
    """The article body: between the header's rule and the share block's."""
    rules = [i for i, t in enumerate(tokens) if t.type == "hr"]
    share = next((i for i, t in enumerate(tokens) if t.type == "inline"
                  and t.content.startswith("长按复制本页链接")), len(tokens))
    end = max((i for i in rules if i < share), default=len(tokens))
    return tokens[rules[0] + 1:end] if rules else tokens


def mirror_copies(src: str, served: str, site: Source) -> set[str]:
    """Where the mirror may keep the image at src: the path for its URL,
    or for the URL the loopback server gave it, as requested (non-ASCII
    percent-encoded)."""
    urls = (src, site.image_hosts.sub(lambda m: f"{served}/_hosts/{m[1]}/", src))
    return {image_path(v) for u in urls for v in (u, safe_url_string(u))}


def stored_image(src: str, page: Path, mirror: Path) -> tuple[str, str]:
    """The mirror path a page's image link leads to ("" if it leaves the
    mirror) and what is wrong with the file ("" if it is a valid image
    within the project's caps)."""
    if urlsplit(src).scheme or src.startswith("/"):
        return "", "not the mirror's copy"
    target = (page.parent / unquote(src)).resolve()
    if not target.is_relative_to(mirror.resolve()):
        return "", "outside the mirror"
    relpath = target.relative_to(mirror.resolve()).as_posix()
    if not target.is_file():
        return relpath, "no such file"
    if target.stat().st_size > settings.MIRROR_IMAGES_MAX_BYTES:
        return relpath, "over the byte cap"
    try:
        with Image.open(target) as image:
            image.verify()
            size = image.size
    except Exception as exc:  # noqa: BLE001 - any failure is a broken file
        return relpath, f"not a valid image ({exc})"
    if max(size) > settings.MIRROR_IMAGES_MAX_SIDE:
        return relpath, f"{size} over the size cap"
    return relpath, ""


def mirror_targets(ref: Reference, mirror: Path, site: Source) -> dict[str, str]:
    """The mirror paths that the article's links to the site's home, its
    tag pages and mirrored articles may go to, each with the link's URL."""
    targets = {}
    for href, _ in ref.links:
        if href.rstrip("/") == site.real_host:
            targets[HOME] = href
        if not href.startswith(f"{site.real_host}/"):
            continue
        article = site.article_href.search(href.removeprefix(site.real_host))
        if href in ref.tag_links:
            targets[tag_page_path(ref.tag_links[href])] = href
        elif article:
            for held in mirror.glob(f"pages/**/{article.group('id')}.md"):
                targets[held.relative_to(mirror).as_posix()] = href
    return targets


def compare(ref: Reference, page: Path, mirror: Path, served: str,
            site: Source) -> Result:
    text = page.read_text("utf-8")
    result = Result(page.relative_to(mirror).as_posix())
    tokens = md.parse(text)
    html = md.renderer.render(body_tokens(tokens), md.options, {})
    body = lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")
    page_text = "\n".join(segments(body))
    rendered = lxml.html.fragment_fromstring(md.render(text), create_parent="div")
    whole = norm(rendered.text_content())

    into_mirror = mirror_targets(ref, mirror, site)

    def original(href: str) -> str:
        """A body link as the site's URL it stands for; a relative one
        into the mirror as "mirror:<path>" unless it stands for one."""
        if urlsplit(href).scheme:
            return norm_href(href, ref.url, served, site.real_host)
        target = (page.parent / unquote(href)).resolve()
        if not target.is_relative_to(mirror.resolve()):
            return f"outside the mirror: {href}"
        relpath = target.relative_to(mirror.resolve()).as_posix()
        if not target.is_file():
            return f"no such file in the mirror: {relpath}"
        return into_mirror.get(relpath, f"mirror:{relpath}")

    s = Scorer(result)
    for para in ref.paragraphs:
        s.check(para in page_text, f"paragraph missing: {para[:60]}")
    if ref.source:
        s.check(f"来源：{ref.source}" in whole, f"source missing: {ref.source}")
    result.paragraphs = s.score

    leaks = []
    for kind, markers in site.leak_markers.items():
        for m in markers:
            extra = text.count(m) - ref.text.count(m)
            leaks += [f"{kind}: {m}"] * max(0, extra)
    for hidden in ref.hidden_text:
        if whole.count(hidden) > ref.visible.count(hidden):
            leaks.append(f"hidden text: {hidden[:40]}")
    leaks += [f"raw HTML: {t.content.strip()[:40]}" for t in tokens
              if t.type == "html_block"]
    leaks += [f"raw HTML: {c.content[:40]}" for t in tokens
              for c in t.children or [] if c.type == "html_inline"]
    known = {href for href, _ in ref.links} | set(ref.media)
    leaks += [f"link not in the article: {href}" for a in body.iter("a")
              for href in [original(a.get("href", ""))]
              if href not in known and not bare_url_linked(a, ref.text)]
    result.leaks = len(leaks)
    result.failures += [f"leak: {x}" for x in leaks]

    s = Scorer(result)
    imgs = list(body.iter("img"))
    for n, (src, caption, requested) in enumerate(ref.images):
        img = imgs[n] if n < len(imgs) else None
        if img is None:
            s.check(False, f"image {n + 1} missing: {src}")
            continue
        block = next((a for a in img.iterancestors() if a.tag in BLOCKS), body)
        stored, wrong = stored_image(img.get("src", ""), page, mirror)
        s.check(stored in mirror_copies(requested, served, site) and not wrong
                and caption in norm(block.text_content()) + norm(img.get("alt", "")),
                f"image {n + 1} ({src}) or its caption missing from the mirror: "
                f"{img.get('src')} {wrong}")
    if len(imgs) > len(ref.images):
        s.check(False, f"{len(imgs) - len(ref.images)} images not in the body")
    result.images = s.score

    s = Scorer(result)
    headings = [(h.tag, norm(h.text_content())) for h in body.iter(*HEADINGS)]
    s.check(headings == ref.headings, f"headings {headings} != {ref.headings}")
    # Emphasis may leave out punctuation at its edges and be split at a
    # link (CommonMark needs it), so bold text is matched in the page's run.
    bold = "".join(norm(b.text_content()) for b in body.iter("strong"))
    lost = [b for b in ref.bold if b not in bold]
    s.check(not lost, f"bold lost: {lost[:3]}")
    lists = [(lst.tag, [norm(li.text_content()) for li in lst.iterchildren("li")])
             for lst in body.iter("ul", "ol")]
    s.check(lists == ref.lists, f"lists {lists} != {ref.lists}")
    quoted = "\n".join("\n".join(segments(q)) for q in body.iter("blockquote"))
    s.check(all(seg in quoted for q in ref.quotes for seg in q), "quote lost")
    links = Counter((original(a.get("href", "")), norm(a.text_content()))
                    for a in body.iter("a"))
    s.check(not ref.links - links, f"links lost: {list(ref.links - links)[:3]}")
    broken = [href for href, _ in links if not href.startswith(("http://", "https://"))]
    s.check(not broken, f"links neither absolute nor into the mirror: {broken[:3]}")
    to_site = [a.get("href") for a in body.iter("a")
               if urlsplit(a.get("href", "")).scheme
               and site.tag_href.search(urlsplit(a.get("href")).path)]
    s.check(not to_site, f"tag links to the site: {to_site[:3]}")
    hrefs = {href for href, _ in links}
    s.check(all(m in hrefs for m in ref.media), f"media lost: {ref.media}")
    result.structure = s.score

    s = Scorer(result)
    h1 = next(rendered.iter("h1"), None)
    page_title = norm(h1.text_content()) if h1 is not None else ""
    s.check(page_title == norm(ref.title), f"title {page_title!r} != {ref.title!r}")
    s.check(ref.date and re.search(rf"^{ref.date} \d\d:\d\d", text, re.M),
            f"date is not {ref.date or 'known'}")
    header = tokens[:next((i for i, t in enumerate(tokens) if t.type == "hr"),
                          len(tokens))]
    meta = lxml.html.fragment_fromstring(
        md.renderer.render(header, md.options, {}), create_parent="div")
    tag_dir = (mirror / "tags").resolve()
    tag_links = {norm(a.text_content()): target for a in meta.iter("a") for target in
                 [(page.parent / unquote(a.get("href", ""))).resolve()]
                 if target.parent.parent == tag_dir}
    s.check(set(tag_links) == ref.tags,
            f"tags {sorted(tag_links)} != tag links {sorted(ref.tags)}")
    listed = all(target.is_file() and f"{page.relative_to(mirror).as_posix()})"
                 in target.read_text("utf-8").replace("../", "")
                 for target in tag_links.values())
    s.check(listed, "a tag page is missing or does not list the article")
    url = f"{settings.MIRROR_BASE_URL}/{page.relative_to(mirror).as_posix()}"
    qr = [r.text for r in zxingcpp.read_barcodes(Image.open(f"{page}.png"))] \
        if Path(f"{page}.png").is_file() else []
    s.check(qr == [url], f"QR image decodes to {qr}, not {url}")
    result.metadata = s.score
    return result


def crawl(site: Source, base_url: str, mirror: Path, proxy: str) -> dict[str, int]:
    """`scrapy crawl <source>` into mirror, https through proxy; its numeric
    stats."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", site.name]
    for name, value in {
        f"{site.name.upper()}_BASE_URL": base_url, "MIRROR_DIR": str(mirror),
        "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "0",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "LOG_LEVEL": "INFO",
    }.items():
        cmd += ["-s", f"{name}={value}"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), https_proxy=proxy)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"crawl failed:\n{done.stderr[-3000:]}")
    dump = done.stderr[done.stderr.rindex("Dumping Scrapy stats"):]
    return {k: int(v) for k, v in re.findall(r"'([^']+)': (\d+)[,}]", dump)}


def files(mirror: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(mirror).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in mirror.rglob("*") if p.is_file()}


def crawl_and_rerun(site: Source, base_url: str, mirror: Path,
                    faults: float, proxy: str) -> str:
    """Crawl (a second time when the server makes faults), then once more:
    that last run must fetch no article and change no file; what it did."""
    crawl(site, base_url, mirror, proxy)
    if faults:
        crawl(site, base_url, mirror, proxy)
    before = files(mirror)
    stats = crawl(site, base_url, mirror, proxy)
    articles = stats.get("newsmirror/articles/requested", 0)
    changed = sorted(p for p in before.keys() | files(mirror).keys()
                     if before.get(p) != files(mirror).get(p))
    print(f"{mirror.name}: rerun fetched {articles} articles, wrote "
          f"{stats.get('newsmirror/pages_written', 0)} pages, changed "
          f"{len(changed)} files{': ' + ', '.join(changed[:5]) if changed else ''}")
    return "" if articles == 0 and not changed else f"rerun of {mirror.name}"


def served_crawls(source: Source, site: Path, tools: Path | None,
                  mirrors: list[Path], faults: float) -> tuple[str, list[str]]:
    """Serve the site on 127.0.0.1, crawl it into each mirror; its base URL
    and the reruns that fetched or changed anything. Images on third hosts
    come through an AssetProxy."""
    with AssetProxy(site) as proxy:
        if tools is None:
            with SiteServer(site) as server:
                return server.base_url, [
                    crawl_and_rerun(source, server.base_url, m, faults, proxy.url)
                    for m in mirrors]
        return served_by_tools(source, site, tools, mirrors, faults, proxy.url)


def served_by_tools(source: Source, site: Path, tools: Path, mirrors: list[Path],
                    faults: float, proxy: str) -> tuple[str, list[str]]:
    server = subprocess.Popen(
        [sys.executable, tools / "serve_site.py", site, "--site", source.name,
         "--assets", "--faults", str(faults)], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("serving "):
            sys.exit(f"serve_site.py did not start: {line!r}")
        base_url = line.split()[1]
        return base_url, [crawl_and_rerun(source, base_url, m, faults, proxy)
                          for m in mirrors]
    finally:
        server.kill()
        server.wait()


def measure(source: Source, site: Path, mirror: Path, second: Path,
            served: str) -> list[Result]:
    results = []
    catalog = sqlite3.connect(mirror / ".newsmirror" / "catalog.sqlite3")
    for html_file in sorted(site.glob(source.pages)):
        relpath = html_file.relative_to(site).as_posix()
        ref = reference(html_file.read_bytes(), f"{source.real_host}/{relpath}",
                        source)
        pages = list(mirror.glob(f"pages/**/{html_file.stem}.md"))
        if not pages:
            results.append(Result(relpath, failures=["no page written"]))
            continue
        result = compare(ref, pages[0], mirror, served, source)
        result.channel, = catalog.execute(
            "SELECT channel FROM articles WHERE site = ? AND id = ?",
            (source.name, html_file.stem)).fetchone()
        again = second / result.page
        if not again.is_file() or again.read_bytes() != pages[0].read_bytes():
            result.failures.append("a second crawl wrote a different page")
        results.append(result)
    catalog.close()
    return results


def frac(pair: tuple[int, int]) -> str:
    return f"{pair[0]}/{pair[1]}"


def report(results: list[Result], verbose: bool) -> bool:
    print(f"{'page':<22} {'paragraphs':>10} {'leaks':>5} {'images':>7} "
          f"{'structure':>9} {'metadata':>8}")
    for r in results:
        print(f"{r.page:<22} {frac(r.paragraphs):>10} {r.leaks:>5} "
              f"{frac(r.images):>7} {frac(r.structure):>9} {frac(r.metadata):>8}"
              + ("" if r.perfect else "  FAIL"))
        if verbose:
            for failure in r.failures:
                print(f"    {failure}")

    def total(name):
        return tuple(sum(getattr(r, name)[i] for r in results) for i in (0, 1))

    paragraphs = total("paragraphs")
    print(f"{'total (' + str(len(results)) + ' articles)':<22} "
          f"{frac(paragraphs):>10} {sum(r.leaks for r in results):>5} "
          f"{frac(total('images')):>7} {frac(total('structure')):>9} "
          f"{frac(total('metadata')):>8}")
    perfect = sum(r.perfect for r in results)
    recall = 100 * paragraphs[0] / max(paragraphs[1], 1)
    print(f"paragraph recall {recall:.1f}%; articles meeting every target "
          f"(incl. byte-identical pages on a second crawl): {perfect}/{len(results)}")
    return perfect == len(results) and bool(results)


def markdown_table(results: list[Result]) -> None:
    """The totals per channel and overall, as a Markdown table."""
    print("| channel | articles | paragraphs found | leaks | images | structure "
          "| metadata | meeting every target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.channel, []).append(r)
    for name, rows in [*sorted(groups.items()), ("**total**", results)]:
        def total(field):
            return frac(tuple(sum(getattr(r, field)[i] for r in rows) for i in (0, 1)))
        print(f"| {name} | {len(rows)} | {total('paragraphs')} "
              f"| {sum(r.leaks for r in rows)} | {total('images')} "
              f"| {total('structure')} | {total('metadata')} "
              f"| {sum(r.perfect for r in rows)}/{len(rows)} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--source", choices=sorted(SOURCES), default="secretchina",
                        help="the site to measure (default: %(default)s)")
    parser.add_argument("--corpus", type=Path,
                        help="mirrored article pages (default: "
                             f"{SHARED}/corpus/<source>/anchor_md)")
    parser.add_argument("--tools", type=Path, default=SHARED / "tools",
                        help="where sitegen.py and serve_site.py are "
                             "(default: %(default)s)")
    parser.add_argument("--site", type=Path,
                        help="measure this built site instead of the corpus")
    parser.add_argument("--work", type=Path,
                        help="keep the site and mirrors here (default: a "
                             "temporary directory, removed afterwards)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every failed check under its row")
    parser.add_argument("--faults", type=float, default=0.0,
                        help="share of page and image requests the server "
                             "answers with a fault (default: 0)")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the totals per channel as a Markdown table")
    args = parser.parse_args(argv)
    source = SOURCES[args.source]
    corpus = args.corpus or SHARED / "corpus" / source.name / "anchor_md"

    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        mirrors = [work / "mirror", work / "mirror-again"]
        if args.site:
            site, tools = args.site.resolve(), None
        else:
            if not corpus.is_dir():
                parser.error(f"no corpus at {corpus}: give --corpus or --site")
            if not (args.tools / "sitegen.py").is_file():
                parser.error(f"no sitegen.py in {args.tools}: give --tools")
            site, tools = work / "site", args.tools
            subprocess.run([sys.executable, tools / "sitegen.py", site,
                            "--site", source.name, "--corpus", corpus],
                           check=True, stdout=subprocess.DEVNULL)
        served, reruns = served_crawls(source, site, tools, mirrors, args.faults)
        results = measure(source, site, *mirrors, served)
        ok = report(results, args.verbose) and not any(reruns)
        if args.markdown:
            markdown_table(results)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
