"""Paths stay inside the mirror; files are replaced whole or not at all."""
import os

import pytest

from newsmirror.mirror import files
from newsmirror.mirror.files import UnsafePath, inside, safe_name, write_atomic


@pytest.mark.parametrize("relpath", [
    "../escape.md", "pages/../../escape.md", "/etc/passwd", "pages/p1/../../../x"])
def test_paths_outside_the_mirror_are_refused(tmp_path, relpath):
    with pytest.raises(UnsafePath):
        inside(tmp_path, relpath)


def test_paths_inside_the_mirror_are_allowed(tmp_path):
    assert inside(tmp_path, "pages/p1/1.md") == tmp_path.resolve() / "pages/p1/1.md"


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
