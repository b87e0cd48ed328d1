"""A mirror tree as GitHub shows it: every Markdown file rendered by
cmark-gfm with GitHub's extensions (the `cmarkgfm` bindings), and what a
reader there would find wrong.

    problems(mirror_dir) -> ["pages/…/1.md: dead link ../x.md", …]

- a relative link or image that does not resolve to a file in the tree
  (or leaves it), or a link rooted at "/" (on the host, outside the repository);
- a link URL holding a backslash (GitHub sends the reader to `%5C`);
- a backslash the reader sees (an escape GitHub did not take as one);
- literal markup: a link GitHub's autolink extension made that the page did
  not (`www.x.com主页` swallowing the text after it), Markdown syntax or an
  HTML entity shown as text, raw HTML (GitHub drops most of it).
"""
from __future__ import annotations

import posixpath
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cmarkgfm
import lxml.html
from cmarkgfm.cmark import Options

# Markdown syntax that, unescaped in the page, should not show as text.
LITERAL_MARKUP = re.compile(r"\]\(|!\[|\*\*|__|~~|`")
# A backslash escape: what the page means to show as text.
PRIVATE_USE = 0xE000
ESCAPED_BACKSLASH = chr(PRIVATE_USE + ord("\\"))
ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
RAW_HTML = "<!-- raw HTML omitted -->"
SKIPPED = {"code", "pre"}


def render_gfm(text: str) -> str:
    """HTML as GitHub renders the Markdown (its extensions, raw HTML omitted)."""
    return cmarkgfm.github_flavored_markdown_to_html(text)


def render_commonmark(text: str) -> str:
    return cmarkgfm.markdown_to_html(text, Options.CMARK_OPT_DEFAULT)


def _tree(html: str):
    return lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")


def _shown_as_is(el) -> bool:
    """Code, and a URL shown as its own link text."""
    return el.tag in SKIPPED or (el.tag == "a" and el.text_content() in (
        el.get("href"), el.get("href", "").removeprefix("mailto:")))


def _visible_text(root) -> list[str]:
    """The text a reader sees, but for what is shown as it is written."""
    texts = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        inside = any(_shown_as_is(a) for a in el.iterancestors())
        if not inside and not _shown_as_is(el):
            texts.append(el.text or "")
        if el is not root and not inside:
            texts.append(el.tail or "")
    return [t for t in texts if t]


def _hide_escapes(text: str) -> str:
    """Escaped characters as private-use ones, so that markup left in the
    rendered text is markup the page did not escape."""
    return ESCAPE.sub(lambda m: chr(PRIVATE_USE + ord(m[1])), text)


def _target_problem(mirror: Path, from_dir: str, url: str) -> str | None:
    if "\\" in url or "%5c" in url.lower():
        return "backslash in link URL"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:
        return None  # a fragment of the page itself
    if parts.path.startswith("/"):
        return "link rooted at / (outside the repository on the host)"
    target = posixpath.normpath(posixpath.join(from_dir, unquote(parts.path)))
    if target == ".." or target.startswith("../"):
        return "link leaves the tree"
    if not (mirror / target).is_file():
        return "dead link"
    return None


def page_problems(mirror: Path, relpath: str, text: str) -> list[str]:
    """What is wrong with one Markdown file of the tree as GitHub shows it."""
    found = []
    from_dir = posixpath.dirname(relpath)
    html = render_gfm(text)
    root = _tree(html)
    gfm_hrefs = []
    for el in root.iter("a", "img"):
        url = el.get("href" if el.tag == "a" else "src")
        if url is None:
            continue
        if el.tag == "a":
            gfm_hrefs.append(url)
        problem = _target_problem(mirror, from_dir, url)
        if problem:
            found.append(f"{relpath}: {problem}: {url}")
    # Links the autolink extension made: in GitHub's HTML, not CommonMark's.
    made = list(gfm_hrefs)
    for el in _tree(render_commonmark(text)).iter("a"):
        if el.get("href") in made:
            made.remove(el.get("href"))
    # An e-mail address links to itself, harmless; a web address runs on
    # to the next space, through the text after it.
    found += [f"{relpath}: autolinked text: {url}" for url in made
              if not url.startswith("mailto:")]
    # A backslash the page escaped (a "\\" in the Markdown) is the text's own.
    meant = _visible_text(_tree(render_gfm(_hide_escapes(text))))
    shown = [chunk for chunk in _visible_text(root) if "\\" in chunk]
    if sum(c.count("\\") for c in shown) > sum(c.count(ESCAPED_BACKSLASH) for c in meant):
        found += [f"{relpath}: visible backslash: {c.strip()[:80]!r}" for c in shown]
    for chunk in meant:
        markup = LITERAL_MARKUP.search(chunk)
        if markup:
            found.append(f"{relpath}: literal markup {markup[0]!r}: {chunk.strip()[:80]!r}")
    if RAW_HTML in html:
        found.append(f"{relpath}: raw HTML ({html.count(RAW_HTML)})")
    return found


def problems(mirror_dir: Path | str) -> list[str]:
    """Every problem of every Markdown file in the tree (not the crawler's
    state), as `<relpath>: <problem>: <detail>` lines."""
    mirror = Path(mirror_dir)
    found = []
    for path in sorted(mirror.rglob("*.md")):
        relpath = path.relative_to(mirror).as_posix()
        if relpath.startswith(".newsmirror/"):
            continue
        found += page_problems(mirror, relpath, path.read_text("utf-8"))
    return found


if __name__ == "__main__":
    # python tests/gfm_checks.py MIRROR_DIR [-v]: counts by kind, or every line.
    lines = problems(sys.argv[1])
    if "-v" in sys.argv:
        print("\n".join(lines))
    kinds: dict[str, int] = {}
    for line in lines:
        kind = line.split(": ")[1]
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"{len(lines)} problems", kinds)
