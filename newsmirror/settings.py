"""Scrapy settings for newsmirror: polite defaults, mirror paths, pipelines.

Every value here can be overridden with `-s NAME=VALUE` or scrapyd's
`setting=NAME=VALUE`.
"""

BOT_NAME = "newsmirror"
SPIDER_MODULES = ["newsmirror.spiders"]
NEWSPIDER_MODULE = "newsmirror.spiders"
# `crawl` checks every setting and spider argument first (newsmirror/checks.py).
COMMANDS_MODULE = "newsmirror.commands"

# Each source's root, <SPIDER NAME>_BASE_URL (tests and the sample point
# them at 127.0.0.1).
SECRETCHINA_BASE_URL = "https://www.secretchina.com"
SOUNDOFHOPE_BASE_URL = "https://www.soundofhope.org"

# The mirror tree.
MIRROR_DIR = "mirror"
# Where the mirror is published; pages' share links and QR codes use it.
MIRROR_BASE_URL = "https://github.com/OWNER/REPO/blob/master"
# Empty: the mirrored sites' names, e.g. "看中国 · 希望之声 镜像".
MIRROR_TITLE = ""
MIRROR_INDEX_SIZE = 300  # newest articles listed per channel index
MIRROR_HOME_SIZE = 50  # newest articles on the home page
MIRROR_FEED_SIZE = 50  # newest articles in feed.json
MIRROR_INDEX_EVERY = 100  # rebuild list pages after this many new articles
MIRROR_CATALOG_BATCH = 100  # articles recorded per catalog commit
# Keep only the newest N pages per channel in the tree (0: keep all). Opt
# in: a removed page's share links and QR codes stop working.
MIRROR_KEEP_PER_CHANNEL = 0
# Article requests in the scheduler at a time; the rest wait in the spider
# as plain links, so memory does not grow with a feed's length. 0: no limit.
MIRROR_ARTICLE_WINDOW = 200
# Processes that clean articles, write pages, draw QR images and re-encode
# images beside the crawl, on the core its reactor thread leaves free (0: in
# the crawler's thread).
MIRROR_WORKERS = 1
# Header and footer links, {label: path in the mirror or absolute URL}.
# Empty: home and channel indexes in the header, home in the footer.
MIRROR_MENU = {}
MIRROR_FOOTER = {}

# Images: each image an article shows, stored in the mirror (images/) and
# linked from its page, re-encoded as JPEG within these caps (README:
# "Images"). False: pages link images at their sites.
MIRROR_IMAGES = True
MIRROR_IMAGES_MAX_SIDE = 1280  # pixels, the longest side
MIRROR_IMAGES_QUALITY = 75  # JPEG quality, lowered for an image over the byte cap
MIRROR_IMAGES_MAX_BYTES = 300 * 1024  # a stored image
MIRROR_IMAGES_MAX_DOWNLOAD = 20 * 1024 * 1024  # bigger is cut off, not stored
MIRROR_IMAGES_MAX_PIXELS = 50_000_000  # more in the original is a decompression bomb
# Later runs that fetch an article again for its failed images; then its
# page keeps linking them at their site (an image gone for good, a host
# that never answers).
MIRROR_IMAGES_RETRIES = 3
# An image moved by its site is still the article's.
MEDIA_ALLOW_REDIRECTS = True

ITEM_PIPELINES = {
    "newsmirror.pipelines.clean.CleanPipeline": 100,
    "newsmirror.pipelines.tags.TagsPipeline": 200,
    "newsmirror.pipelines.images.MirrorImagesPipeline": 250,
    "newsmirror.pipelines.links.MirrorLinksPipeline": 270,
    "newsmirror.pipelines.markdown.MarkdownPagePipeline": 300,
    "newsmirror.pipelines.qr_image.QrImagePipeline": 400,
    "newsmirror.pipelines.index.IndexPipeline": 500,
}
# Adds each pipeline's CPU time to the stats (newsmirror/cpu_ms/<Pipeline>).
ITEM_PROCESSOR = "newsmirror.pipelines.manager.TimedItemPipelineManager"
# Per response; an article page gives one item. Scrapy starts this many
# tasks for every response's output however short (scrapy/scrapy#5182):
# at the default 100, a fifth of a bare crawl's CPU.
CONCURRENT_ITEMS = 1
# Bytes of the responses whose items may be in the pipelines at once
# (Scrapy's default: 5 MB). In a fast crawl each waiting page held 100-200
# KB, not its 5-40 KB; this bound kept a 20 000-article crawl's peak RSS
# steady at the same speed (benchmarks/README.md). A polite crawl
# (DOWNLOAD_DELAY) never gets near it.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 500_000

# Several workers sharing one crawl through Redis (README: "Run on several
# machines"), e.g. redis://host:6379/0. Empty: one process, no Redis.
REDIS_URL = ""
REDIS_WORKER_LEASE = 60  # seconds a silent worker keeps its requests
ADDONS = {
    "newsmirror.distributed.addon.Distributed": 0,
    "newsmirror.addons.user_agent.ContactUserAgent": 0,
    "newsmirror.addons.jobdir.ResumableJobdir": 0,
    "newsmirror.addons.publish.PublishSettings": 0,
}

EXTENSIONS = {
    "newsmirror.extensions.summary.CrawlSummary": 500,
    "newsmirror.extensions.publish.Publish": 500,
    "newsmirror.extensions.gc_tuning.GcTuning": 500,
}

# Publish the tree at the end of every crawl (README: "Publish to Git
# hosts"): Git remote URLs, comma-separated; empty: publish nothing.
PUBLISH_TO = ""
# Empty: the branch MIRROR_BASE_URL names (master for the default one).
PUBLISH_BRANCH = ""
PUBLISH_AUTHOR_NAME = "newsmirror"
PUBLISH_AUTHOR_EMAIL = "newsmirror@localhost"
PUBLISH_TIMEOUT = 300  # seconds to deliver to one remote, retries included
PUBLISH_RETRIES = 3  # more attempts per remote after a failed push

# Polite by default: a news site, two requests at a time at most, a delay
# that AutoThrottle raises when the site slows down.
# Where the site's operators can reach us; the User-Agent is built from it
# (newsmirror.addons.user_agent, in ADDONS above) unless USER_AGENT is set.
CONTACT_URL = "https://github.com/OWNER/REPO"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
HTTPCACHE_ENABLED = False
DOWNLOAD_TIMEOUT = 30
# An article page is far below this; anything larger is not one.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
# Wait before each retry: 2, 4, 8 s, or the server's Retry-After, at most
# RETRY_BACKOFF_MAX (newsmirror.middlewares.retry).
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0
REDIRECT_MAX_TIMES = 5  # an article needs one or two; more is a loop
# The spider retries a cut-short page with Scrapy's get_retry_request(),
# whose request carries these on purpose.
META_COPY_WARN_SKIP_KEYS = ["retry_times", "download_latency"]
DOWNLOADER_MIDDLEWARES = {
    "newsmirror.middlewares.offsite_redirect.OffsiteRedirectMiddleware": 45,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "newsmirror.middlewares.retry.BackoffRetryMiddleware": 550,
}
# With JOBDIR, keep the request queues in SQLite: a crawl killed with
# SIGKILL leaves Scrapy's default file queues torn (a later push fails);
# SQLite commits each push and pop whole.
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleLifoSQLiteQueue"
SCHEDULER_START_DISK_QUEUE = "scrapy.squeues.PickleFifoSQLiteQueue"
LOGSTATS_INTERVAL = 60
LOG_LEVEL = "INFO"

FEED_EXPORT_ENCODING = "utf-8"
# Each run's items as UTF-8 JSON beside the mirror, not in the published
# tree: MIRROR_DIR-items/secretchina-<UTC time>.json, no file for a run
# with no new article. The time has microseconds (batch_time) as several
# processes may crawl into one mirror. -o/-O or -s FEEDS=<json> replace this
# (newsmirror.commands.crawl makes -o/-O do so).
FEEDS = {
    "%(mirror_dir)s-items/%(name)s-%(batch_time)s.json": {
        "format": "json", "encoding": "utf-8", "store_empty": False,
    },
}
# A local feed is written to a hidden temp file and renamed when complete:
# a stopped crawl leaves no half-written JSON (newsmirror/feeds/storage.py).
FEED_STORAGES = {
    "": "newsmirror.feeds.storage.AtomicFileFeedStorage",
    "file": "newsmirror.feeds.storage.AtomicFileFeedStorage",
}
