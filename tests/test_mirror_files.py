"""Paths stay inside the mirror; files are replaced whole or not at all."""
import os
import re
import unicodedata
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

from newsmirror.mirror import files
from newsmirror.mirror.layout import tag_page_path
from newsmirror.mirror.render import link
from newsmirror.mirror.files import UnsafePath, inside, safe_name, write_atomic


@pytest.mark.parametrize("relpath", [
    "../escape.md", "pages/../../escape.md", "/etc/passwd", "pages/p1/../../../x"])
def test_paths_outside_the_mirror_are_refused(tmp_path, relpath):
    with pytest.raises(UnsafePath):
        inside(tmp_path, relpath)


def test_paths_inside_the_mirror_are_allowed(tmp_path):
    assert inside(tmp_path, "pages/p1/1.md") == tmp_path / "pages/p1/1.md"
    assert inside(tmp_path, "pages/./p2/../p1/1.md") == tmp_path / "pages/p1/1.md"


@pytest.mark.parametrize("tag", [
    "a/b", "..", "CON", "x:y*z?", "new\nline", "a" * 500, " 中国 ", "emoji 🔔"])
def test_safe_name_is_one_portable_path_component(tmp_path, tag):
    name = safe_name(tag)
    assert name and "/" not in name and "\\" not in name and name not in (".", "..")
    assert len(name.encode()) <= files.MAX_NAME_BYTES + 9
    (tmp_path / f"{name}.md").write_text("x")


def test_safe_name_keeps_plain_tags_readable_and_distinct():
    assert safe_name("东航") == "东航"
    assert safe_name("a/b") != safe_name("a_b")


def test_write_atomic_replaces_and_reports_changes(tmp_path):
    target = tmp_path / "d" / "page.md"
    assert write_atomic(target, "一") is True
    assert write_atomic(target, "一") is False
    assert write_atomic(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["page.md"]


def test_write_atomic_in_pieces_compares_them_with_the_old_file(tmp_path):
    target = tmp_path / "d" / "tag.md"
    assert write_atomic(target, iter(["# 标签\n", "- 一\n"])) is True
    inode = target.stat().st_ino
    assert write_atomic(target, iter(["# 标签\n- ", "一\n"])) is False
    assert target.stat().st_ino == inode  # not replaced
    # Shorter, longer, and as long but different.
    for text in ("# 标签\n", "# 标签\n- 一\n- 二\n", "# 标签\n- 二\n"):
        assert write_atomic(target, iter([text[:3], text[3:]])) is True
        assert target.read_text("utf-8") == text
    assert os.listdir(target.parent) == ["tag.md"]


def test_write_atomic_gives_files_the_mode_open_gives(tmp_path):
    # Not mkstemp's 0600: a web server or another user reads the tree.
    (tmp_path / "by_open.md").write_text("x")
    (tmp_path / "replaced.md").write_text("x")
    assert write_atomic(tmp_path / "replaced.md", "y")
    assert write_atomic(tmp_path / "new.md", "x")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes["new.md"] == modes["replaced.md"] == modes["by_open.md"]


def test_write_atomic_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "page.md"
    target.write_text("old")

    def fail(*args):
        raise OSError("disk full")
    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["page.md"]


def test_temp_files_of_dead_writers_are_removed_not_those_of_live_ones(tmp_path):
    import fcntl
    dead = tmp_path / "pages/p1/.1.md.abc.tmp"
    dead.parent.mkdir(parents=True)
    dead.write_text("half a pa")
    live = tmp_path / ".feed.json.xyz.tmp"
    with live.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        assert files.remove_stale_temp_files(tmp_path) == 1
        assert live.exists()
    assert not dead.exists()
    assert files.remove_stale_temp_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["p1", "pages"]


def test_a_temp_file_swept_by_another_process_before_its_lock_is_made_again(
        tmp_path, monkeypatch):
    # Three redis workers share one tree: a sweep at one's start took
    # another's temp file between mkstemp and flock (CI, test_redis).
    mkstemp = files.tempfile.mkstemp
    made = []

    def swept_once(**kwargs):
        fd, name = mkstemp(**kwargs)
        made.append(name)
        if len(made) == 1:
            assert files.remove_stale_temp_files(tmp_path) == 1
        return fd, name

    monkeypatch.setattr(files.tempfile, "mkstemp", swept_once)
    assert write_atomic(tmp_path / "page.md", ["new ", "page"])
    assert len(made) == 2
    assert os.listdir(tmp_path) == ["page.md"]
    assert (tmp_path / "page.md").read_text() == "new page"


def test_the_temp_file_sweep_stays_out_of_git_and_can_stay_in_one_folder(tmp_path):
    in_git = tmp_path / ".git/objects/.pack.abc.tmp"
    below = tmp_path / "pages/.1.md.abc.tmp"
    for dead in (in_git, below):
        dead.parent.mkdir(parents=True)
        dead.write_text("half")
    assert files.remove_stale_temp_files(tmp_path, recursive=False) == 0
    assert files.remove_stale_temp_files(tmp_path) == 1
    assert in_git.exists() and not below.exists()


NASTY_TAGS = ["COVID-19", "covid-19", "Covid-19", "é", "e\u0301", "CON", "con", "com¹",
              "a.", "a ", ".hidden", "C#", "a&amp;b", "x%20y", "1/2", "问：答？", "a" * 300,
              "中" * 100, "tab\tx", "全角　空格", "🔔", "a(b)", "[x]"]


def test_tag_file_names_are_distinct_on_case_and_unicode_folding_systems():
    names = [safe_name(t) for t in NASTY_TAGS]
    folded = {unicodedata.normalize("NFC", n).casefold() for n in names}
    assert len(folded) == len(NASTY_TAGS)


@pytest.mark.parametrize("tag", NASTY_TAGS)
def test_tag_file_names_are_valid_on_windows_and_linked_right(tmp_path, tag):
    name = safe_name(tag)
    assert not re.search(r'[\x00-\x1f<>:"/\\|?*]', name)
    assert name == name.strip(" .") and len(f"{name}.md".encode()) <= 255
    assert not re.match(r"(?i)^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)", name)
    tag_page = tmp_path / tag_page_path(tag)
    assert tag_page.name == f"{name}.md"
    tag_page.parent.mkdir(parents=True)
    tag_page.write_text("x")
    # The article page's link to the tag page reaches the file.
    markdown = link(tag, tag_page_path(tag), "pages/p1")
    href = next(t for t in MarkdownIt().parseInline(markdown)[0].children
                if t.type == "link_open").attrs["href"]
    assert (tmp_path / "pages/p1" / unquote(href)).resolve() == tag_page.resolve()
