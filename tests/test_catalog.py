"""The catalog: articles keyed by (site, id), channels per article, and a
catalog from before sources were named, moved in place."""
import sqlite3

from newsmirror.mirror.catalog import Catalog

# The schema of a catalog written before the mirror held several sources.
ONE_SITE_SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, channel TEXT NOT NULL,
    title TEXT NOT NULL, published TEXT NOT NULL, published_utc TEXT NOT NULL,
    url TEXT NOT NULL, page_path TEXT NOT NULL, public_url TEXT NOT NULL,
    tags TEXT NOT NULL, language TEXT NOT NULL, content_html TEXT NOT NULL);
CREATE INDEX articles_newest ON articles (published_utc, id);
CREATE INDEX articles_newest_by_channel ON articles (channel, published_utc, id);
CREATE TABLE article_tags (tag TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (tag, id));
CREATE INDEX article_tags_by_id ON article_tags (id);
CREATE TABLE stale (kind TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (kind, key));
INSERT INTO articles VALUES ('1100001', 'p1', '旧文', '2024-05-06T09:15:00-04:00',
    '2024-05-06T13:15:00+00:00', 'https://www.secretchina.com/news/gb/1100001.html',
    'pages/p1/1100001.md', 'https://example.org/pages/p1/1100001.md', '["暴雨"]',
    'zh-CN', '<p>x</p>');
INSERT INTO article_tags VALUES ('暴雨', '1100001');
INSERT INTO stale VALUES ('channel', 'p1'), ('home', '');
"""


def article(site, article_id, channel, published="2024-05-14T18:20:00-07:00"):
    return {"site": site, "id": article_id, "channel": channel, "title": "t",
            "published": published, "url": "u", "page_path": f"pages/{site}/{article_id}.md",
            "public_url": "p", "tags": ["香港"], "language": "", "content_html": "<p>x</p>"}


def test_an_old_catalog_is_moved_to_sites_in_place(mirror_dir):
    path = mirror_dir / ".newsmirror" / "catalog.sqlite3"
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript(ONE_SITE_SCHEMA)
    old.close()
    catalog = Catalog(mirror_dir)
    assert "1100001" in catalog.mirrored("secretchina", ["1100001"])
    assert "1100001" not in catalog.mirrored("soundofhope", ["1100001"])
    [row] = catalog.in_channel("secretchina", "p1", 10)
    assert row["page_path"] == "pages/p1/1100001.md"  # a page keeps its path
    assert [r["id"] for r in catalog.tagged("暴雨")] == ["1100001"]
    assert catalog.counts() == {("secretchina", "p1"): 1}
    stale = catalog.conn.execute("SELECT kind, key FROM stale ORDER BY kind").fetchall()
    assert [(r["kind"], r["key"]) for r in stale] == [("channel", "secretchina/p1"),
                                                      ("home", "")]
    catalog.close()
    Catalog(mirror_dir).close()  # opened again: nothing left to move


def test_same_id_on_two_sites_is_two_articles(mirror_dir):
    catalog = Catalog(mirror_dir)
    catalog.add(article("secretchina", "900001", "p1"), article("soundofhope", "900001", "5"))
    assert [r["site"] for r in catalog.latest(10)] == ["soundofhope", "secretchina"]
    assert [r["site"] for r in catalog.tagged("香港")] == ["soundofhope", "secretchina"]
    assert catalog.sites() == ["secretchina", "soundofhope"]


def test_which_of_a_long_feed_are_mirrored_is_one_answer(mirror_dir):
    catalog = Catalog(mirror_dir)
    mirrored = {str(n) for n in range(0, 1000, 3)}
    catalog.add(*(article("secretchina", i, "p1") for i in sorted(mirrored)))
    listed = [str(n) for n in range(1000)]  # more ids than one query takes
    assert catalog.mirrored("secretchina", listed) == mirrored
    assert catalog.mirrored("soundofhope", listed) == set()


def test_an_article_in_two_feeds_is_in_both_channels(mirror_dir):
    catalog = Catalog(mirror_dir)
    assert catalog.list_in_channel("soundofhope", "5", ["900001"]) == 1
    assert catalog.in_channel("soundofhope", "5", 10) == []  # not mirrored yet
    catalog.add(article("soundofhope", "900001", "55"))
    assert [r["id"] for r in catalog.in_channel("soundofhope", "5", 10)] == ["900001"]
    assert [r["id"] for r in catalog.in_channel("soundofhope", "55", 10)] == ["900001"]
    catalog.conn.execute("DELETE FROM stale")
    # Listed by a third feed once mirrored: that index is stale at once.
    assert catalog.list_in_channel("soundofhope", "3", ["900001"]) == 1
    stale = catalog.conn.execute("SELECT kind, key FROM stale ORDER BY kind").fetchall()
    assert [(r["kind"], r["key"]) for r in stale] == [("channel", "soundofhope/3"),
                                                      ("home", "")]
    assert catalog.counts() == {("soundofhope", c): 1 for c in ("3", "5", "55")}


def test_an_unchanged_feed_does_not_touch_the_file(mirror_dir):
    catalog = Catalog(mirror_dir)
    catalog.list_in_channel("soundofhope", "5", ["900001", "900002"])
    path = mirror_dir / ".newsmirror" / "catalog.sqlite3"
    before = path.stat().st_mtime_ns, path.read_bytes()
    assert catalog.list_in_channel("soundofhope", "5", ["900002", "900001"]) == 0
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


def test_an_old_catalogs_missing_images_and_retired_pages_keep_their_site(mirror_dir):
    path = mirror_dir / ".newsmirror" / "catalog.sqlite3"
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript(ONE_SITE_SCHEMA + """
        CREATE TABLE images_missing (id TEXT PRIMARY KEY);
        CREATE TABLE retired (id TEXT PRIMARY KEY, page_path TEXT NOT NULL);
        INSERT INTO images_missing VALUES ('1100001');
        INSERT INTO retired VALUES ('1000001', 'pages/p1/1000001.md');
    """)
    old.close()
    catalog = Catalog(mirror_dir)
    assert "1100001" not in catalog.mirrored("secretchina", ["1100001"])  # fetched again for its images
    assert "1000001" in catalog.mirrored("secretchina", ["1000001"])  # retired: never fetched again
    assert "1000001" not in catalog.mirrored("soundofhope", ["1000001"])
    catalog.close()
