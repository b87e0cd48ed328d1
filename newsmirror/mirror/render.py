"""Markdown and JSON for the mirror's pages: article, indexes, tags, feed."""
from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from newsmirror.mirror.layout import HOME, index_path, tag_page_path
from newsmirror.sites import SiteProfile

# Characters that could start Markdown syntax inside running text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!])")
# Where GitHub's autolink extension starts a link (running on through the
# text after it): an escaped ":" or "." stops it and shows no backslash.
_AUTOLINK_START = re.compile(r"(?<=[A-Za-z]):(?=//)|(?<=www)\.")


def escape_md(text: str) -> str:
    """Plain text (a title, a tag) as Markdown that renders as that text."""
    text = " ".join(str(text).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _AUTOLINK_START.sub(r"\\\g<0>", text)
    # A leading "1." or "-" would start a list where the text is a line.
    number = re.match(r"\d+(?=[.)])", text)
    if number:
        return f"{number[0]}\\{text[number.end():]}"
    return f"\\{text}" if text[:1] and text[:1] in "-+=" else text


def link(label: str, target: str, from_dir: str) -> str:
    """A Markdown link; mirror-relative targets become relative paths."""
    if not re.match(r"^[a-z][a-z0-9+.-]*:", target):
        # Rooted at "/" so relpath needs no getcwd() for every link.
        target = posixpath.relpath(posixpath.join("/", target),
                                   posixpath.join("/", from_dir))
    target = target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{escape_md(label)}]({target})"


@functools.lru_cache(maxsize=64)
def menu_line(menu: tuple[tuple[str, str], ...], from_dir: str) -> str:
    # Cached: every page of a directory has the same menu.
    return " | ".join(link(label, target, from_dir) for label, target in menu)


def mirror_title(setting: str, profiles: Iterable[SiteProfile]) -> str:
    """MIRROR_TITLE, or the sites' own names: "看中国 · 希望之声 镜像"."""
    return setting or " · ".join(p.title for p in profiles) + " 镜像"


def menus(settings, profiles: Iterable[SiteProfile]) -> tuple[tuple, tuple]:
    """The header and footer links: MIRROR_MENU and MIRROR_FOOTER ({label:
    target}, JSON on the command line), by default home and the given
    sites' channel indexes in the header (named with the site if several),
    home in the footer."""
    profiles = list(profiles)
    home = {"首页": HOME}
    menu = settings.getdict("MIRROR_MENU") or home | {
        (f"{p.title}·{name}" if len(profiles) > 1 else name): index_path(p.name, ch)
        for p in profiles for ch, name in p.channels.items()}
    footer = settings.getdict("MIRROR_FOOTER") or home
    return tuple(menu.items()), tuple(footer.items())


def day(published: str) -> str:
    return published[:10]


def when(published: str) -> str:
    return published[:16].replace("T", " ")


def tidy(markdown: str) -> str:
    """No trailing spaces, one blank line between blocks, a final newline."""
    lines = [line.rstrip() for line in markdown.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def article_page(a: Mapping, channel_name: str, menu, footer) -> str:
    page_dir = posixpath.dirname(a["page_path"])
    meta = [when(a["published"])]
    if a.get("source"):
        meta.append(f"来源：{escape_md(a['source'])}")
    meta.append(link(channel_name, index_path(a["site"], a["channel"]), page_dir))
    if a["tags"]:
        meta.append("标签：" + " ".join(
            link(t, tag_page_path(t), page_dir) for t in a["tags"]))
    share = []
    if a["public_url"]:  # none without MIRROR_BASE_URL
        qr_name = posixpath.basename(a["qr_path"])
        share = ["长按复制本页链接，或用手机扫描二维码分享：",
                 f"<{a['public_url']}>",
                 f"[![本页二维码]({qr_name})]({a['public_url']})"]
    return tidy("\n\n".join([
        f"# {escape_md(a['title'])}",
        menu_line(menu, page_dir),
        " · ".join(meta),
        "---",
        a["body_markdown"],
        "---",
        *share,
        f"原文地址：<{a['url']}>",
        "---",
        menu_line(footer, page_dir),
    ]))


@functools.lru_cache(maxsize=4096)
def list_line(published: str, title: str, page_path: str, from_dir: str) -> str:
    # Cached: the list pages are rebuilt after every batch of articles with
    # mostly the same rows (a channel index holds 300; nine channels fit).
    return f"- {day(published)} {link(title, page_path, from_dir)}"


def article_lines(rows: Iterable[dict], from_dir: str) -> Iterator[str]:
    return (list_line(r["published"], r["title"], r["page_path"], from_dir) for r in rows)


def article_list(rows: Iterable[dict], from_dir: str) -> str:
    return "\n".join(article_lines(rows, from_dir))


def list_page(heading: str, path: str, rows: Iterable[dict], menu) -> Iterator[str]:
    """A channel index or a tag page at path, listing rows, in pieces to
    write as they come: a tag on most of the mirror lists all its
    articles, and the whole page (20 000 lines) took 10 MB in memory."""
    from_dir = posixpath.dirname(path)
    yield tidy("\n\n".join([f"# {escape_md(heading)}", menu_line(menu, from_dir)])) + "\n"
    # The rows' lines are tidy already (one line each, titles escaped).
    empty = True
    for line in article_lines(rows, from_dir):
        empty = False
        yield line + "\n"
    if empty:
        yield "（暂无文章）\n"


def home_page(title: str, profiles: Iterable[SiteProfile],
              counts: dict[tuple[str, str], int], rows: list[dict]) -> str:
    """Each site's channels (under the site's name if several), then the
    newest articles of all."""
    profiles = list(profiles)
    sections = []
    for p in profiles:
        if len(profiles) > 1:
            sections.append(f"### {escape_md(p.title)}")
        sections.append("\n".join(
            f"- {link(name, index_path(p.name, ch), '')}（{counts.get((p.name, ch), 0)}）"
            for ch, name in p.channels.items()))
    return tidy("\n\n".join([f"# {escape_md(title)}", "## 频道", *sections,
                             "## 最新文章", article_list(rows, "") or "（暂无文章）"]))


def rfc3339(published: str) -> str:
    return datetime.fromisoformat(published).isoformat()


def json_feed(title: str, home_url: str, feed_url: str, rows: list[dict]) -> str:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home_url,
        "feed_url": feed_url,
        "items": [{
            # The original's URL identifies the article when it has no
            # public page (no MIRROR_BASE_URL).
            "id": r["public_url"] or r["url"],
            "url": r["public_url"],
            "external_url": r["url"],
            "title": r["title"],
            "content_html": r["content_html"],
            "date_published": rfc3339(r["published"]),
            "tags": r["tags"],
            "language": r["language"],
        } for r in rows],
    }
    # Optional fields go when empty (JSON Feed: a URL or nothing).
    for obj in (feed, *feed["items"]):
        for key in ("home_page_url", "feed_url", "url", "language"):
            if key in obj and not obj[key]:
                del obj[key]
    return json.dumps(feed, ensure_ascii=False, indent=1) + "\n"
