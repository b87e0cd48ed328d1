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
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    channel TEXT NOT NULL,  -- the article's own channel (its page links it)
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
    content_html TEXT NOT NULL,
    PRIMARY KEY (site, id)
);
-- In the lists' full order, so "the newest N" reads N index entries
-- instead of sorting every article with the same date.
CREATE INDEX IF NOT EXISTS articles_newest ON articles (published_utc, site, id);
CREATE INDEX IF NOT EXISTS articles_newest_by_channel
    ON articles (site, channel, published_utc, id);
-- Every channel whose feed lists the article (one page, listed in each
-- channel's index); a feed's listing is recorded before the article is
-- mirrored, with published_utc NULL until it is.
CREATE TABLE IF NOT EXISTS article_channels (
    site TEXT NOT NULL,
    channel TEXT NOT NULL,
    id TEXT NOT NULL,
    published_utc TEXT,
    PRIMARY KEY (site, channel, id)
);
CREATE INDEX IF NOT EXISTS article_channels_newest
    ON article_channels (site, channel, published_utc, id);
CREATE INDEX IF NOT EXISTS article_channels_by_id ON article_channels (site, id);
CREATE TABLE IF NOT EXISTS article_tags (
    tag TEXT NOT NULL,
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (tag, site, id)
);
-- Replacing an article deletes its tags by id: without this, a full scan.
CREATE INDEX IF NOT EXISTS article_tags_by_id ON article_tags (site, id);
-- Articles whose page links images at their site still (their download
-- failed), and in how many runs: fetched again by the next runs whose
-- feeds list them, up to MIRROR_IMAGES_RETRIES.
CREATE TABLE IF NOT EXISTS images_missing (
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    runs INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (site, id)
);
-- The stored images each article shows (an image may be in several, of
-- any site): retiring the last article that shows one removes it.
CREATE TABLE IF NOT EXISTS article_images (
    path TEXT NOT NULL,
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (path, site, id)
);
CREATE INDEX IF NOT EXISTS article_images_by_id ON article_images (site, id);
-- Articles taken out of the tree by MIRROR_KEEP_PER_CHANNEL: never
-- fetched again.
CREATE TABLE IF NOT EXISTS retired (
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    page_path TEXT NOT NULL,
    PRIMARY KEY (site, id)
);
CREATE TABLE IF NOT EXISTS stale (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""
# A catalog from before sources were named holds secretchina's articles
# only, keyed by id alone: Catalog() moves it to the schema above.
OLD_SITE = "secretchina"
MIGRATE_FROM_ONE_SITE = f"""
CREATE TABLE IF NOT EXISTS images_missing (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS retired (id TEXT PRIMARY KEY, page_path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS article_images (path TEXT NOT NULL, id TEXT NOT NULL);
ALTER TABLE articles RENAME TO articles_one_site;
ALTER TABLE article_tags RENAME TO article_tags_one_site;
ALTER TABLE images_missing RENAME TO images_missing_one_site;
ALTER TABLE retired RENAME TO retired_one_site;
ALTER TABLE article_images RENAME TO article_images_one_site;
DROP INDEX IF EXISTS articles_newest;
DROP INDEX IF EXISTS articles_newest_by_channel;
DROP INDEX IF EXISTS article_tags_by_id;
DROP INDEX IF EXISTS article_images_by_id;
{SCHEMA}
INSERT INTO articles SELECT '{OLD_SITE}', id, channel, title, published,
    published_utc, url, page_path, public_url, tags, language, content_html
    FROM articles_one_site;
INSERT INTO article_channels SELECT '{OLD_SITE}', channel, id, published_utc
    FROM articles_one_site;
INSERT INTO article_tags SELECT tag, '{OLD_SITE}', id FROM article_tags_one_site;
INSERT INTO images_missing (site, id) SELECT '{OLD_SITE}', id FROM images_missing_one_site;
INSERT INTO retired SELECT '{OLD_SITE}', id, page_path FROM retired_one_site;
INSERT INTO article_images SELECT path, '{OLD_SITE}', id FROM article_images_one_site;
UPDATE stale SET key = '{OLD_SITE}/' || key WHERE kind = 'channel';
DROP TABLE articles_one_site;
DROP TABLE article_tags_one_site;
DROP TABLE images_missing_one_site;
DROP TABLE retired_one_site;
DROP TABLE article_images_one_site;
"""
COLUMNS = ("site", "id", "channel", "title", "published", "published_utc", "url",
           "page_path", "public_url", "tags", "language", "content_html")
LIST_COLUMNS = ", ".join(f"a.{c}" for c in COLUMNS if c != "content_html")
NEWEST_FIRST = "ORDER BY a.published_utc DESC, a.site DESC, a.id DESC"
# Ids per query: SQLite allows 32766 parameters, old builds 999.
ID_BATCH = 400


def channel_key(site: str, channel: str) -> str:
    """A channel index's key in the stale table."""
    return f"{site}/{channel}"


def _statements(script: str) -> Iterator[str]:
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


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
        self._migrate()
        self.conn.executescript(SCHEMA)

    def _migrate(self) -> None:
        if not self._one_site():
            return
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            if self._one_site():  # not migrated by another process meanwhile
                # executescript() would commit at once: statement by statement.
                for statement in _statements(MIGRATE_FROM_ONE_SITE):
                    self.conn.execute(statement)

    def _one_site(self) -> bool:
        columns = {r["name"] for r in self.conn.execute("PRAGMA table_info(articles)")}
        return bool(columns) and "site" not in columns

    def close(self) -> None:
        self.conn.close()

    def _tuples(self) -> sqlite3.Cursor:
        """A cursor giving plain tuples, for queries over thousands of ids
        (the connection's dict per row costs more than the query)."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return cursor

    def mirrored(self, site: str, ids: Iterable[str],
                 image_retries: int | None = None) -> set[str]:
        """Those of ids that are mirrored, with every image they show or
        (given image_retries) with images that failed in more runs than
        that; ID_BATCH ids per query (a feed of a large mirror lists
        thousands)."""
        found: set[str] = set()
        ids = list(ids)
        cursor = self._tuples()
        for start in range(0, len(ids), ID_BATCH):
            chunk = ids[start:start + ID_BATCH]
            marks = ", ".join("?" * len(chunk))
            found.update(r[0] for r in cursor.execute(
                f"SELECT id FROM articles a WHERE site = ? AND id IN ({marks}) "
                "AND NOT EXISTS (SELECT 1 FROM images_missing m WHERE "
                "m.site = a.site AND m.id = a.id AND (? IS NULL OR m.runs <= ?)) "
                f"UNION ALL SELECT id FROM retired WHERE site = ? AND id IN ({marks})",
                (site, *chunk, image_retries, image_retries, site, *chunk)))
        return found

    def beyond(self, site: str, channel: str, keep: int) -> list[dict]:
        """The articles of the site's channel (their own) after its newest
        keep (site, id, page_path)."""
        return self.conn.execute(
            "SELECT a.site, a.id, a.page_path FROM articles a "
            f"WHERE a.site = ? AND a.channel = ? {NEWEST_FIRST} LIMIT -1 OFFSET ?",
            (site, channel, keep)).fetchall()

    def retire(self, articles: list[dict]) -> list[str]:
        """Take articles out of every list, in one transaction, and mark
        the lists that showed them stale; their ids stay known. Returns
        the stored images no article left shows."""
        images: set[str] = set()
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            stale = {("home", ""), ("feed", "")}
            for article in articles:
                key = (article["site"], article["id"])
                row = self.conn.execute(
                    "SELECT tags FROM articles WHERE site = ? AND id = ?", key).fetchone()
                if row is None:
                    continue
                stale.update(("tag", t) for t in row["tags"])
                stale.update(self._channel_pages(key))
                images.update(r["path"] for r in self.conn.execute(
                    "SELECT path FROM article_images WHERE site = ? AND id = ?", key))
                for table in ("articles", "article_tags", "article_channels",
                              "article_images", "images_missing"):
                    self.conn.execute(
                        f"DELETE FROM {table} WHERE site = ? AND id = ?", key)
                self.conn.execute("INSERT OR REPLACE INTO retired VALUES (?, ?, ?)",
                                  (*key, article["page_path"]))
            self.conn.executemany(
                "INSERT OR IGNORE INTO stale VALUES (?, ?)", sorted(stale))
            return sorted(path for path in images if self.conn.execute(
                "SELECT 1 FROM article_images WHERE path = ?", (path,)
            ).fetchone() is None)

    def _channel_pages(self, key: tuple[str, str]) -> list[tuple[str, str]]:
        """The stale-page keys of the channels listing the article (site, id)."""
        # Without the index named, SQLite reads every row of the site in
        # article_channels_newest (2 ms an article at 20000).
        return [("channel", channel_key(key[0], r["channel"])) for r in self.conn.execute(
            "SELECT channel FROM article_channels INDEXED BY article_channels_by_id "
            "WHERE site = ? AND id = ?", key)]

    def page_of(self, site: str, article_id: str) -> str | None:
        """The article's page path, if the mirror holds it."""
        row = self.conn.execute(
            "SELECT page_path FROM articles WHERE site = ? AND id = ?",
            (site, article_id)).fetchone()
        return row["page_path"] if row else None

    def list_in_channel(self, site: str, channel: str, ids: Iterable[str]) -> int:
        """Record that a channel's feed lists these articles; those already
        mirrored join the channel's index. Writes only what is new (an
        unchanged feed leaves the file untouched); returns how many."""
        listed = {r[0] for r in self._tuples().execute(
            "SELECT id FROM article_channels WHERE site = ? AND channel = ?",
            (site, channel))}
        new = [i for i in dict.fromkeys(ids) if i not in listed]
        if not new:
            return 0
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(
                "INSERT OR IGNORE INTO article_channels SELECT ?, ?, ?, "
                "(SELECT published_utc FROM articles WHERE site = ? AND id = ?)",
                [(site, channel, i, site, i) for i in new])
            if self.conn.execute(
                    "SELECT 1 FROM article_channels WHERE site = ? AND channel = ? "
                    f"AND published_utc IS NOT NULL AND id IN "
                    f"({', '.join('?' * len(new))}) LIMIT 1",
                    [site, channel, *new]).fetchone():
                self.conn.executemany(
                    "INSERT OR IGNORE INTO stale VALUES (?, ?)",
                    [("channel", channel_key(site, channel)), ("home", "")])
        return len(new)

    def add(self, *articles: dict) -> None:
        """Record articles and mark their list pages stale, in one
        transaction (one commit per batch, not per article)."""
        stale = {("home", ""), ("feed", "")}
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for article in articles:
                key = (article["site"], article["id"])
                stale.update(("tag", t) for t in article["tags"])
                old = self.conn.execute(
                    "SELECT tags FROM articles WHERE site = ? AND id = ?", key
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
                self.conn.execute(
                    "DELETE FROM article_images WHERE site = ? AND id = ?", key)
                self.conn.executemany(
                    "INSERT OR IGNORE INTO article_images VALUES (?, ?, ?)",
                    [(p, *key) for p in article.get("images", ())])
                self.conn.execute(
                    "INSERT OR IGNORE INTO article_channels VALUES (?, ?, ?, NULL)",
                    (article["site"], article["channel"], article["id"]))
                self.conn.execute(
                    "UPDATE article_channels SET published_utc = ? "
                    "WHERE site = ? AND id = ?", (values["published_utc"], *key))
                stale.update(self._channel_pages(key))
                self.conn.execute(
                    "DELETE FROM article_tags WHERE site = ? AND id = ?", key)
                self.conn.executemany(
                    "INSERT OR IGNORE INTO article_tags VALUES (?, ?, ?)",
                    [(t, *key) for t in article["tags"]])
                self.conn.execute(
                    "INSERT INTO images_missing (site, id) VALUES (?, ?) "
                    "ON CONFLICT (site, id) DO UPDATE SET runs = runs + 1"
                    if article.get("images_missing") else
                    "DELETE FROM images_missing WHERE site = ? AND id = ?", key)
            self.conn.executemany(
                "INSERT OR IGNORE INTO stale VALUES (?, ?)", sorted(stale))

    def mark_stale(self, pages: Iterable[tuple[str, str]]) -> None:
        """Have these (kind, key) pages rebuilt by the next rebuild_stale."""
        pages = list(pages)
        if pages:
            with self.conn:
                self.conn.executemany(
                    "INSERT OR IGNORE INTO stale VALUES (?, ?)", pages)

    def latest(self, limit: int, with_content: bool = False) -> list[dict]:
        """The newest articles of every site."""
        cols = "a.*" if with_content else LIST_COLUMNS
        return self.conn.execute(
            f"SELECT {cols} FROM articles a {NEWEST_FIRST} LIMIT ?", (limit,)
        ).fetchall()

    def in_channel(self, site: str, channel: str, limit: int) -> list[dict]:
        """The newest articles listed in a channel's feed."""
        return self.conn.execute(
            f"SELECT {LIST_COLUMNS} FROM article_channels c JOIN articles a "
            "ON a.site = c.site AND a.id = c.id "
            "WHERE c.site = ? AND c.channel = ? AND c.published_utc IS NOT NULL "
            "ORDER BY c.published_utc DESC, c.id DESC LIMIT ?",
            (site, channel, limit)).fetchall()

    def tagged(self, tag: str) -> Iterator[dict]:
        """Every article with the tag, newest first, read as it is used: a
        tag may be on most of the mirror."""
        return self.conn.execute(
            f"SELECT {LIST_COLUMNS} FROM article_tags t JOIN articles a "
            "ON a.site = t.site AND a.id = t.id WHERE t.tag = ? "
            f"{NEWEST_FIRST}", (tag,))

    def counts(self) -> dict[tuple[str, str], int]:
        """Articles mirrored per (site, channel)."""
        return {(r["site"], r["channel"]): r["n"] for r in self.conn.execute(
            "SELECT site, channel, COUNT(*) AS n FROM article_channels "
            "WHERE published_utc IS NOT NULL GROUP BY site, channel")}

    def sites(self) -> list[str]:
        return [r["site"] for r in self.conn.execute(
            "SELECT DISTINCT site FROM articles ORDER BY site")]

    def channels_of(self, page_paths: list[str]) -> dict[str, tuple[str, str]]:
        """page path -> (site, channel), for the pages the catalog has."""
        found = {}
        for start in range(0, len(page_paths), 500):
            chunk = page_paths[start:start + 500]
            found.update((r["page_path"], (r["site"], r["channel"])) for r in self.conn.execute(
                "SELECT page_path, site, channel FROM articles WHERE page_path IN "
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
