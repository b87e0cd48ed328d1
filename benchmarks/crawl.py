"""Crawl benchmark: bare engine vs. full pipelines vs. incremental rerun.

    .venv/bin/python benchmarks/crawl.py [-n 2000] [--site DIR] [--repeat 3]

Without --site it builds a site of N articles from the bundled sample pages
under new ids (spread over the nine channel feeds); --site takes a tree
built by ../shared/tools/sitegen.py OUT --replicate K. The site is served on
127.0.0.1 by the project's SiteServer in a separate process, so the server's
CPU is not counted in the crawler's, and each crawl is `scrapy crawl
secretchina` through the real engine in its own process:

  bare   every pipeline disabled (ITEM_PIPELINES = {}), fresh mirror
  full   all pipelines, fresh mirror
  rerun  all pipelines over the mirror the last full crawl left

Each runs --repeat times; the medians are printed: articles per second
(items / the spider's open-to-close time), full/bare, CPU ms per article
of each pipeline (from the newsmirror/cpu_ms/* stats of
newsmirror.timing), the rerun's time and article requests (counted by the
server), and each mode's peak RSS. The benchmark's own concurrency settings
(below, printed too) replace the project's polite defaults.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = [f"p{n}" for n in range(1, 10)]
FIRST_ID = 3_000_000
HOST = "https://www.secretchina.com"
BENCH_SETTINGS = {
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "INFO",
}
STAGES = ("CleanPipeline", "TagsPipeline", "MarkdownPagePipeline",
          "QrImagePipeline", "IndexPipeline")


# The site

def generate_site(out: Path, n: int) -> None:
    """N article pages copied from the sample site under new ids."""
    from newsmirror.sample.server import sample_site

    sample = Path(str(sample_site()))
    pages = sorted((sample / "news/gb").glob("*/*/*/*.html"))
    feeds: dict[str, list[str]] = {c: [] for c in CHANNELS}
    for i in range(n):
        page = pages[i % len(pages)]
        new_id = FIRST_ID + i
        relpath = page.relative_to(sample).with_name(f"{new_id}.html")
        text = page.read_text("utf-8").replace(f"/{page.stem}.html",
                                               f"/{new_id}.html")
        (out / relpath).parent.mkdir(parents=True, exist_ok=True)
        (out / relpath).write_text(text, "utf-8")
        published = re.search(r'published_time" content="([^"]+)"', text)[1]
        feeds[CHANNELS[i % len(CHANNELS)]].append(
            f"<item><title>{new_id}</title><link>{HOST}/{relpath}</link>"
            f"<pubDate>{published}</pubDate></item>")
    for channel, items in feeds.items():
        (out / f"news/gb/{channel}.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">'
            f"<channel><title>{channel}</title>\n" + "\n".join(items)
            + "\n</channel></rss>\n", "utf-8")
    shutil.copy(sample / "robots.txt", out / "robots.txt")


def count_articles(site: Path) -> int:
    return sum(len(re.findall(r"<item>", p.read_text("utf-8")))
               for p in (site / "news/gb").glob("p*.xml"))


def serve(site: str, conn) -> None:
    """Server process: SiteServer on loopback, answering the parent's
    'count' (article requests so far) until 'stop'."""
    from newsmirror.sample.server import SiteServer

    with SiteServer(Path(site)) as server:
        conn.send(server.base_url)
        while (command := conn.recv()) != "stop":
            with server._lock:
                conn.send(sum(p.endswith(".html") for p in server.requests))
    conn.send("stopped")


# One crawl, in its own process

def crawl_child(config_path: str) -> None:
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    config = json.loads(Path(config_path).read_text())
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newsmirror.settings")
    settings = get_project_settings()
    settings.setdict(config["settings"], priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("secretchina")
    process.crawl(crawler)
    process.start()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {k: v for k, v in crawler.stats.get_stats().items()
             if isinstance(v, (int, float))}
    stats.update(peak_rss_mb=usage.ru_maxrss / 1024,
                 cpu_s=usage.ru_utime + usage.ru_stime)
    Path(config["stats"]).write_text(json.dumps(stats))


def crawl(mode: str, run: int, base_url: str, mirror: Path, work: Path,
          server) -> dict:
    settings = dict(BENCH_SETTINGS, SECRETCHINA_BASE_URL=base_url,
                    MIRROR_DIR=str(mirror),
                    LOG_FILE=str(work / f"{mode}-{run}.log"))
    if mode == "bare":
        settings["ITEM_PIPELINES"] = {}
    config = work / f"{mode}-{run}.json"
    stats_path = work / f"{mode}-{run}.stats.json"
    config.write_text(json.dumps({"settings": settings,
                                  "stats": str(stats_path)}))
    server.send("count")
    before = server.recv()
    subprocess.run([sys.executable, __file__, "--crawl-child", str(config)],
                   cwd=ROOT, check=True)
    server.send("count")
    stats = json.loads(stats_path.read_text())
    stats["article_requests"] = server.recv() - before
    return stats


# Report

def median(runs: list[dict], key) -> float:
    return statistics.median(key(s) for s in runs)


def per_article(runs: list[dict], stat: str) -> float:
    return median(runs, lambda s: s.get(stat, 0)
                  / max(1, s.get("item_scraped_count", 0)))


def rate(s: dict) -> float:
    return s.get("item_scraped_count", 0) / s["elapsed_time_seconds"]


def report(n: int, site: str, results: dict[str, list[dict]]) -> str:
    bare, full, rerun = results["bare"], results["full"], results["rerun"]
    lines = [
        f"site: {site}, {n} articles; {os.cpu_count()} cores; "
        f"{len(full)} runs per mode, medians",
        "benchmark settings: " + ", ".join(
            f"{k}={v}" for k, v in BENCH_SETTINGS.items()
            if k not in ("LOG_LEVEL", "TELNETCONSOLE_ENABLED")),
        "server: newsmirror.sample.server.SiteServer in its own process",
        f"bare : {median(bare, rate):8.1f} articles/s  "
        f"({median(bare, lambda s: s['elapsed_time_seconds']):.1f} s, "
        f"crawler CPU {1000 * per_article(bare, 'cpu_s'):.2f} ms/article, "
        f"peak RSS {median(bare, lambda s: s['peak_rss_mb']):.0f} MB)",
        f"full : {median(full, rate):8.1f} articles/s  "
        f"({median(full, lambda s: s['elapsed_time_seconds']):.1f} s, "
        f"crawler CPU {1000 * per_article(full, 'cpu_s'):.2f} ms/article, "
        f"peak RSS {median(full, lambda s: s['peak_rss_mb']):.0f} MB)",
        f"full/bare: {median(full, rate) / median(bare, rate):.2f}",
        "pipeline CPU ms per article:",
    ]
    total = 0.0
    for stage in STAGES:
        ms = per_article(full, f"newsmirror/cpu_ms/{stage}")
        closing = per_article(full, f"newsmirror/cpu_ms/{stage}/close_spider")
        total += ms + closing
        extra = f"  (+ {closing:.3f} at close)" if closing >= 0.0005 else ""
        lines.append(f"  {stage:<22}{ms:7.3f}{extra}")
    lines += [
        f"  {'all stages':<22}{total:7.3f}",
        f"rerun: {median(rerun, lambda s: s['elapsed_time_seconds']):.2f} s, "
        f"{max(s['article_requests'] for s in rerun)} article requests, "
        f"{max(s.get('item_scraped_count', 0) for s in rerun)} items, "
        f"peak RSS {median(rerun, lambda s: s['peak_rss_mb']):.0f} MB",
        f"peak RSS, all modes: {max(s['peak_rss_mb'] for r in results.values() for s in r):.0f} MB",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--articles", type=int, default=2000,
                        help="articles in the generated site (default 2000)")
    parser.add_argument("--site", type=Path,
                        help="a site built by sitegen.py instead of the generated one")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per mode (default 3)")
    parser.add_argument("--modes", default="bare,full,rerun",
                        help="which modes to run (default all)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (site, mirrors, logs)")
    parser.add_argument("--crawl-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.crawl_child:
        return crawl_child(args.crawl_child)

    work = Path(tempfile.mkdtemp(prefix="newsmirror-bench-"))
    modes = args.modes.split(",")
    try:
        if args.site:
            site = args.site.resolve()
        else:
            site = work / "site"
            generate_site(site, args.articles)
        n = count_articles(site)
        print(f"work directory {work}; site {site} with {n} articles", flush=True)
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.Process(target=serve, args=(str(site), child),
                                         daemon=True)
        server.start()
        results: dict[str, list[dict]] = {m: [] for m in ("bare", "full", "rerun")}
        try:
            base_url = parent.recv()
            for mode in ("bare", "full"):
                if mode not in modes:
                    continue
                for run in range(args.repeat):
                    mirror = work / f"mirror-{mode}"
                    shutil.rmtree(mirror, ignore_errors=True)
                    results[mode].append(crawl(mode, run, base_url, mirror,
                                               work, parent))
                    print(f"{mode} {run + 1}/{args.repeat}: "
                          f"{rate(results[mode][-1]):.1f} articles/s", flush=True)
            if "rerun" in modes:
                for run in range(args.repeat):
                    results["rerun"].append(crawl(
                        "rerun", run, base_url, work / "mirror-full", work, parent))
                    print(f"rerun {run + 1}/{args.repeat}: "
                          f"{results['rerun'][-1]['elapsed_time_seconds']:.2f} s",
                          flush=True)
        finally:
            parent.send("stop")
            parent.recv()
            server.join()
        print(report(n, "generated from the sample" if not args.site
                     else str(args.site), results))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
