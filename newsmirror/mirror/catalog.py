"""The mirror's catalog: what is mirrored, and which list pages are stale.

An SQLite file in MIRROR_DIR/.newsmirror/ that every crawler process
writing to the same mirror shares. An article is recorded only after its
page and QR image are on disk, in the same transaction that marks its
channel index, tag pages, home page and feed stale; stale pages are
rebuilt from the catalog under SQLite's write lock, so any process can do
it and a crash at any moment leaves the work for the next run.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    title TEXT NOT NULL,
    published TEXT NOT NULL,
    -- published in UTC: ISO strings with different offsets (DST, or
    -- dates from different sources) do not sort as the instants they are
    published_utc TEXT NOT NULL,
    url TEXT NOT NULL,
    page_path TEXT NOT NULL,
    public_url TEXT NOT NULL,
    tags TEXT NOT NULL,
    language TEXT NOT NULL,
    content_html TEXT NOT NULL
);
-- In the lists' full order, so "the newest N" reads N index entries
-- instead of sorting every article with the same date.
CREATE INDEX IF NOT EXISTS articles_newest ON articles (published_utc, id);
CREATE INDEX IF NOT EXISTS articles_newest_by_channel
    ON articles (channel, published_utc, id);
CREATE TABLE IF NOT EXISTS article_tags (
    tag TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (tag, id)
);
-- Replacing an article deletes its tags by id: without this, a full scan.
CREATE INDEX IF NOT EXISTS article_tags_by_id ON article_tags (id);
-- Articles whose page links images at their site still (their download
-- failed): fetched again by the next run whose feeds list them.
CREATE TABLE IF NOT EXISTS images_missing (id TEXT PRIMARY KEY);
-- The stored images each article shows (an image may be in several):
-- retiring the last article that shows one removes it.
CREATE TABLE IF NOT EXISTS article_images (
    path TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (path, id)
);
CREATE INDEX IF NOT EXISTS article_images_by_id ON article_images (id);
-- Articles taken out of the tree by MIRROR_KEEP_PER_CHANNEL: never
-- fetched again.
CREATE TABLE IF NOT EXISTS retired (
    id TEXT PRIMARY KEY,
    page_path TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stale (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""
COLUMNS = ("id", "channel", "title", "published", "published_utc", "url",
           "page_path", "public_url", "tags", "language", "content_html")
LIST_COLUMNS = ", ".join(c for c in COLUMNS if c != "content_html")
NEWEST_FIRST = "ORDER BY published_utc DESC, id DESC"


def _row(cursor, values) -> dict:
    row = {d[0]: v for d, v in zip(cursor.description, values)}
    if "tags" in row:
        row["tags"] = json.loads(row["tags"])
    return row


class Catalog:
    def __init__(self, mirror_dir: Path | str):
        path = Path(mirror_dir) / ".newsmirror" / "catalog.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        # Rollback journal, not WAL: WAL needs shared memory that a
        # network disk shared by several machines cannot give.
        self.conn = sqlite3.connect(path, timeout=120, isolation_level=None)
        self.conn.row_factory = _row
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def has(self, article_id: str) -> bool:
        """Whether the article is mirrored, with every image it shows."""
        return self.conn.execute(
            "SELECT 1 FROM articles WHERE id = ? AND id NOT IN "
            "(SELECT id FROM images_missing) UNION ALL "
            "SELECT 1 FROM retired WHERE id = ?", (article_id, article_id)
        ).fetchone() is not None

    def beyond(self, channel: str, keep: int) -> list[dict]:
        """The channel's articles after its newest keep (id, page_path)."""
        return self.conn.execute(
            f"SELECT id, page_path FROM articles WHERE channel = ? "
            f"{NEWEST_FIRST} LIMIT -1 OFFSET ?", (channel, keep)).fetchall()

    def retire(self, articles: list[dict]) -> list[str]:
        """Take articles out of every list, in one transaction, and mark
        the lists that showed them stale; their ids stay known. Returns
        the stored images no article left shows."""
        images: set[str] = set()
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            stale = {("home", ""), ("feed", "")}
            for article in articles:
                row = self.conn.execute(
                    "SELECT channel, tags FROM articles WHERE id = ?",
                    (article["id"],)).fetchone()
                if row is None:
                    continue
                stale.add(("channel", row["channel"]))
                stale.update(("tag", t) for t in row["tags"])
                images.update(r["path"] for r in self.conn.execute(
                    "SELECT path FROM article_images WHERE id = ?", (article["id"],)))
                for table in ("articles", "article_tags", "article_images",
                              "images_missing"):
                    self.conn.execute(f"DELETE FROM {table} WHERE id = ?",
                                      (article["id"],))
                self.conn.execute("INSERT OR REPLACE INTO retired VALUES (?, ?)",
                                  (article["id"], article["page_path"]))
            self.conn.executemany(
                "INSERT OR IGNORE INTO stale VALUES (?, ?)", sorted(stale))
            return sorted(path for path in images if self.conn.execute(
                "SELECT 1 FROM article_images WHERE path = ?", (path,)
            ).fetchone() is None)

    def page_of(self, article_id: str) -> str | None:
        """The article's page path, if the mirror holds it."""
        row = self.conn.execute("SELECT page_path FROM articles WHERE id = ?",
                                (article_id,)).fetchone()
        return row["page_path"] if row else None

    def add(self, *articles: dict) -> None:
        """Record articles and mark their list pages stale, in one
        transaction (one commit per batch, not per article)."""
        stale = {("home", ""), ("feed", "")}
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for article in articles:
                stale.add(("channel", article["channel"]))
                stale.update(("tag", t) for t in article["tags"])
                old = self.conn.execute(
                    "SELECT tags FROM articles WHERE id = ?", (article["id"],)
                ).fetchone()
                if old:
                    stale.update(("tag", t) for t in old["tags"])
                values = dict(article, tags=json.dumps(article["tags"],
                                                       ensure_ascii=False),
                              published_utc=datetime.fromisoformat(
                                  article["published"]).astimezone(timezone.utc)
                              .isoformat())
                self.conn.execute(
                    f"INSERT OR REPLACE INTO articles ({', '.join(COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(COLUMNS))})",
                    [values[c] for c in COLUMNS])
                self.conn.execute("DELETE FROM article_tags WHERE id = ?",
                                  (article["id"],))
                self.conn.executemany(
                    "INSERT OR IGNORE INTO article_tags VALUES (?, ?)",
                    [(t, article["id"]) for t in article["tags"]])
                self.conn.execute("DELETE FROM article_images WHERE id = ?",
                                  (article["id"],))
                self.conn.executemany(
                    "INSERT OR IGNORE INTO article_images VALUES (?, ?)",
                    [(p, article["id"]) for p in article.get("images", ())])
                self.conn.execute(
                    "INSERT OR IGNORE INTO images_missing VALUES (?)"
                    if article.get("images_missing") else
                    "DELETE FROM images_missing WHERE id = ?", (article["id"],))
            self.conn.executemany(
                "INSERT OR IGNORE INTO stale VALUES (?, ?)", sorted(stale))

    def mark_stale(self, pages: Iterable[tuple[str, str]]) -> None:
        """Have these (kind, key) pages rebuilt by the next rebuild_stale."""
        pages = list(pages)
        if pages:
            with self.conn:
                self.conn.executemany(
                    "INSERT OR IGNORE INTO stale VALUES (?, ?)", pages)

    def latest(self, limit: int, channel: str | None = None,
               with_content: bool = False) -> list[dict]:
        cols = "*" if with_content else LIST_COLUMNS
        where, args = ("WHERE channel = ?", [channel]) if channel else ("", [])
        return self.conn.execute(
            f"SELECT {cols} FROM articles {where} "
            f"{NEWEST_FIRST} LIMIT ?", [*args, limit]
        ).fetchall()

    def tagged(self, tag: str) -> Iterator[dict]:
        """Every article with the tag, newest first, read as it is used: a
        tag may be on most of the mirror."""
        return self.conn.execute(
            f"SELECT {LIST_COLUMNS} FROM articles WHERE id IN "
            "(SELECT id FROM article_tags WHERE tag = ?) "
            f"{NEWEST_FIRST}", (tag,)).fetchall()

    def counts(self) -> dict[str, int]:
        return {r["channel"]: r["n"] for r in self.conn.execute(
            "SELECT channel, COUNT(*) AS n FROM articles GROUP BY channel")}

    def channels_of(self, page_paths: list[str]) -> dict[str, str]:
        """page path -> channel, for the pages the catalog has."""
        found = {}
        for start in range(0, len(page_paths), 500):
            chunk = page_paths[start:start + 500]
            found.update((r["page_path"], r["channel"]) for r in self.conn.execute(
                "SELECT page_path, channel FROM articles WHERE page_path IN "
                f"({', '.join('?' * len(chunk))})", chunk))
        return found

    def rebuild_stale(self, build: Callable[[str, str], None],
                      kinds: Iterable[str] | None = None) -> int:
        """Call build(kind, key) for each stale page (of the given kinds,
        or all), holding the write lock so no article is added between
        reading and clearing."""
        where, args = "", []
        if kinds is not None:
            args = list(kinds)
            where = f"WHERE kind IN ({', '.join('?' * len(args))})"
        # A write transaction touches the file even when it changes
        # nothing; an unchanged mirror must stay byte-identical.
        if self.conn.execute(f"SELECT 1 FROM stale {where} LIMIT 1",
                             args).fetchone() is None:
            return 0
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            stale: list[dict] = self.conn.execute(
                f"SELECT kind, key FROM stale {where} ORDER BY kind, key",
                args).fetchall()
            for row in stale:
                build(row["kind"], row["key"])
            self.conn.execute(f"DELETE FROM stale {where}", args)
        return len(stale)
