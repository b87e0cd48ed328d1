"""Checks on a written mirror tree, shared by the whole-crawl tests."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import zxingcpp
from markdown_it import MarkdownIt
from PIL import Image

md = MarkdownIt("commonmark").enable("table")

LEAKS = ("adsbygoogle", "display:none", "javascript:", "<script")
SITE_LEAKS = {
    "secretchina": ("div-gpt-ad", "txt-mid", "SC-22", "hideid", "本文短网址",
                    "严禁建立镜像网站", "任何形式转载需看中国授权许可", "诚征荣誉会员",
                    "kzgmembership"),
    "soundofhope": ("AD_Embed", "iframely", "128kbps", "media.soundofhope.org",
                    "责任编辑", "責任編輯", "版权所有", "版權所有", "转载请注明"),
}


def raw_html(text: str) -> list[str]:
    found = []
    for token in md.parse(text):
        if token.type == "html_block":
            found.append(token.content)
        found += [c.content for c in token.children or [] if c.type == "html_inline"]
    return found


def page_of(mirror: Path, article_id: str) -> Path:
    """The article's page, wherever its date put it."""
    pages = list(mirror.glob(f"pages/**/{article_id}.md"))
    assert len(pages) == 1, (article_id, pages)
    return pages[0]


def check_page(page: Path, base_url: str, mirror: Path) -> str:
    """Assert one article page is complete; return its text."""
    text = page.read_text("utf-8")
    tokens = md.parse(text)
    assert tokens[0].type == "heading_open" and tokens[0].tag == "h1", page
    assert tokens[1].content.strip(), f"{page}: empty title"
    assert raw_html(text) == [], f"{page}: raw HTML"
    lines = text.split("\n")
    assert any(line[:4].isdigit() and line[4] == "-" for line in lines), f"{page}: no date"
    body = text.split("\n---\n")[1]
    assert len(body.strip()) > 20, f"{page}: no body"
    relpath = page.relative_to(mirror).as_posix()
    for leak in (*LEAKS, *SITE_LEAKS[relpath.split("/")[1]]):
        assert leak not in text, f"{page}: {leak}"
    url = f"{base_url}/{relpath}"
    assert f"<{url}>" in text
    qr = zxingcpp.read_barcodes(Image.open(f"{page}.png"))
    assert [r.text for r in qr] == [url], f"{page}.png"
    return text


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file's content hash and mtime."""
    return {p.relative_to(root).as_posix():
            (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def mirrored_files(mirror: Path) -> dict[str, str]:
    """Every published file's content hash (not the crawler's state)."""
    return {path: digest for path, (digest, _) in snapshot(mirror).items()
            if not path.startswith(".newsmirror/")}


def crawl_stats(stderr: str) -> dict[str, int]:
    """The numeric stats Scrapy dumps at the end of a crawl's log."""
    dump = stderr[stderr.index("Dumping Scrapy stats"):]
    return {k: int(v) for k, v in re.findall(r"'([^']+)': (\d+)[,}]", dump)}
