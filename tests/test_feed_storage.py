"""The items feed: a whole-document format appears whole or not at all;
line formats are written in place; -o appends."""
import os

from newsmirror.feeds.storage import FEED_TEMP_SUFFIX, AtomicFileFeedStorage


def storage(path, fmt="json", overwrite=True):
    return AtomicFileFeedStorage(str(path), feed_options={"format": fmt,
                                                          "overwrite": overwrite})


def test_a_json_feed_appears_only_when_stored(tmp_path):
    path = tmp_path / "items" / "run.json"
    feed = storage(path)
    file = feed.open(None)
    file.write(b'[{"id": "1"}')
    assert not path.exists()
    [temp] = path.parent.iterdir()
    assert temp.name.startswith(".run.json.") and temp.name.endswith(FEED_TEMP_SUFFIX)
    file.write(b"]")
    feed.store(file)
    assert os.listdir(path.parent) == ["run.json"]
    assert path.read_bytes() == b'[{"id": "1"}]'
    (tmp_path / "by_open").write_text("")
    assert path.stat().st_mode == (tmp_path / "by_open").stat().st_mode


def test_appending_keeps_what_the_file_held(tmp_path):
    path = tmp_path / "run.json"
    path.write_bytes(b"[1]\n")
    feed = storage(path, overwrite=False)
    file = feed.open(None)
    file.write(b"[2]\n")
    assert path.read_bytes() == b"[1]\n"
    feed.store(file)
    assert path.read_bytes() == b"[1]\n[2]\n"


def test_line_formats_are_written_in_place(tmp_path):
    path = tmp_path / "run.jsonl"
    feed = storage(path, "jsonlines")
    file = feed.open(None)
    file.write(b'{"id": "1"}\n')
    file.flush()
    assert path.read_bytes() == b'{"id": "1"}\n'
    feed.store(file)
    assert os.listdir(tmp_path) == ["run.jsonl"]


def test_a_stopped_crawls_unfinished_feed_is_removed_not_a_running_ones(tmp_path):
    stopped = tmp_path / f".old.json.abc{FEED_TEMP_SUFFIX}"
    stopped.write_text("[{")
    others = tmp_path / ".someone-elses.tmp"
    others.write_text("x")
    running = storage(tmp_path / "running.json")
    file = running.open(None)
    assert not stopped.exists() and others.exists()
    feed = storage(tmp_path / "next.json")
    feed.store(feed.open(None))
    running.store(file)  # locked while open: left alone
    assert sorted(os.listdir(tmp_path)) == [".someone-elses.tmp", "next.json", "running.json"]
