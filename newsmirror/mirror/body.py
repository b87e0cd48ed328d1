"""An article's clean body HTML as an lxml tree to edit, and back."""
from __future__ import annotations

import html
import posixpath

import lxml.html


def parse(body_html: str):
    """The body's nodes under one <div> (the body is a fragment)."""
    return lxml.html.fragment_fromstring(body_html, create_parent="div")


def serialize(root) -> str:
    """The body HTML again, without the <div> that parse() put around it."""
    return html.escape(root.text or "", quote=False) + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in root)


def relative(target: str, from_dir: str) -> str:
    """A mirror path as a link from a folder of the mirror: relative links
    work on a Git host's web view and in a plain clone alike."""
    # Rooted at "/" so relpath needs no getcwd().
    return posixpath.relpath(posixpath.join("/", target), posixpath.join("/", from_dir))
