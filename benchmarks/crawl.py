"""Crawl benchmark: bare engine vs. full pipelines vs. incremental rerun.

    .venv/bin/python benchmarks/crawl.py [-n 2000] [--site DIR] [--repeat 3]

Without --site it builds a site of N articles from the bundled sample pages
under new ids (spread over the nine channel feeds); --site takes a tree
built by ../shared/tools/sitegen.py OUT --replicate K. The site is served on
127.0.0.1 by the project's SiteServer in a separate process, so the server's
CPU is not counted in the crawler's (its CPU per article is printed too),
and each crawl runs the secretchina spider with the project's settings
through the real engine, in its own process:

  bare   every pipeline disabled (ITEM_PIPELINES = {}), fresh mirror
  full   all pipelines, fresh mirror
  rerun  all pipelines over the mirror the last full crawl left
  variant  the full crawl with the settings of --variant NAME=VALUE
           (repeatable), to weigh a setting against the defaults

Each runs --repeat times; the medians are printed: articles per second
(items / time from spider open to idle, when every download and item is
done; closing then waits ~1 s for idle connections in every mode, and the
pipelines' close work is shown per article in the stage table), full/bare,
CPU ms per article of each pipeline (the newsmirror/cpu_ms/* stats of
newsmirror.pipelines.manager), the rerun's time and article requests (counted by the
server), and peak RSS of the crawler and of a worker process. The
benchmark's own concurrency settings (printed too) replace the project's
polite defaults.
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
import time
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


def pipeline_stages() -> list[str]:
    """The project's pipelines' class names, in ITEM_PIPELINES order."""
    from newsmirror.settings import ITEM_PIPELINES

    return [path.rpartition(".")[2]
            for path in sorted(ITEM_PIPELINES, key=ITEM_PIPELINES.get)]


STAGES = pipeline_stages()


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
    shutil.copytree(sample / "_hosts", out / "_hosts")  # the pages' images


def count_articles(site: Path) -> int:
    return sum(len(re.findall(r"<item>", p.read_text("utf-8")))
               for p in (site / "news/gb").glob("p*.xml"))


def serve(site: str, conn) -> None:
    """Server process: SiteServer on loopback, answering the parent's
    'count' with (article requests, CPU seconds) so far until 'stop'."""
    from newsmirror.sample.server import SiteServer

    with SiteServer(Path(site)) as server:
        conn.send(server.base_url)
        while conn.recv() != "stop":
            with server._lock:
                articles = sum(p.endswith(".html") for p in server.requests)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            conn.send((articles, usage.ru_utime + usage.ru_stime))
    conn.send("stopped")


# One crawl, in its own process

def children_peak_rss_mb() -> float:
    """The largest peak RSS among this process's live children (Linux)."""
    peak = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) != os.getpid():
                continue
            status = (stat.parent / "status").read_text()
        except OSError:  # it ended meanwhile
            continue
        peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status)[1]) / 1024)
    return peak


def crawl_child(config_path: str) -> None:
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    config = json.loads(Path(config_path).read_text())
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newsmirror.settings")
    settings = get_project_settings()
    settings.setdict(config["settings"], priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("secretchina")
    # The crawl's work is from opening to the engine finding nothing left
    # to do; closing adds a fixed wait for idle connections (about 1 s).
    times = {}
    for signal in (signals.spider_opened, signals.spider_idle):
        crawler.signals.connect(
            lambda signal=signal: times.__setitem__(signal, time.monotonic()),
            signal=signal, weak=False)
    # The worker processes' peak, read while they still run.
    worker_peak_rss = [0.0]
    crawler.signals.connect(
        lambda: worker_peak_rss.__setitem__(0, children_peak_rss_mb()),
        signal=signals.spider_idle, weak=False)
    process.crawl(crawler)
    process.start()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {k: v for k, v in crawler.stats.get_stats().items()
             if isinstance(v, (int, float))}
    stats.update(peak_rss_mb=usage.ru_maxrss / 1024,
                 worker_peak_rss_mb=worker_peak_rss[0],
                 cpu_s=usage.ru_utime + usage.ru_stime,
                 work_s=times[signals.spider_idle] - times[signals.spider_opened])
    Path(config["stats"]).write_text(json.dumps(stats))


def crawl(mode: str, run: int, base_url: str, mirror: Path, work: Path,
          server, variant: dict[str, str]) -> dict:
    settings = dict(BENCH_SETTINGS, SECRETCHINA_BASE_URL=base_url,
                    MIRROR_DIR=str(mirror),
                    LOG_FILE=str(work / f"{mode}-{run}.log"))
    if mode == "variant":
        settings.update(variant)
    if mode == "bare":
        settings["ITEM_PIPELINES"] = {}
    config = work / f"{mode}-{run}.json"
    stats_path = work / f"{mode}-{run}.stats.json"
    config.write_text(json.dumps({"settings": settings,
                                  "stats": str(stats_path)}))
    # Start each crawl with no earlier writes still to flush.
    os.sync()
    server.send("count")
    requests_before, cpu_before = server.recv()
    subprocess.run([sys.executable, __file__, "--crawl-child", str(config)],
                   cwd=ROOT, check=True)
    server.send("count")
    requests_after, cpu_after = server.recv()
    stats = json.loads(stats_path.read_text())
    stats["article_requests"] = requests_after - requests_before
    stats["server_cpu_s"] = cpu_after - cpu_before
    return stats


# Report

def median(runs: list[dict], key) -> float:
    return statistics.median(key(s) for s in runs)


def per_article(runs: list[dict], stat: str) -> float:
    return median(runs, lambda s: s.get(stat, 0)
                  / max(1, s.get("item_scraped_count", 0)))


def rate(s: dict) -> float:
    return s.get("item_scraped_count", 0) / s["work_s"]


def crawl_line(name: str, runs: list[dict]) -> str:
    worker_rss = median(runs, lambda s: s["worker_peak_rss_mb"])
    return (f"{name:<5}: {median(runs, rate):8.1f} articles/s  "
            f"({median(runs, lambda s: s['work_s']):.1f} s to idle, "
            f"{median(runs, lambda s: s['elapsed_time_seconds']):.1f} s to closed; CPU "
            f"per article: crawler {1000 * per_article(runs, 'cpu_s'):.2f} ms, "
            f"server {1000 * per_article(runs, 'server_cpu_s'):.2f} ms; "
            f"peak RSS {median(runs, lambda s: s['peak_rss_mb']):.0f} MB"
            + (f", of a worker process {worker_rss:.0f} MB)" if worker_rss else ")"))


def target_lines(bare: list[dict], full: list[dict],
                 rerun: list[dict]) -> list[str]:
    bare_ms = 1000 * per_article(bare, "cpu_s")
    stages_ms = sum(per_article(full, f"newsmirror/cpu_ms/{stage}{part}")
                    for stage in STAGES
                    for part in ("", "/close_spider", "/worker"))
    checks = [("full/bare articles/s", median(full, rate) / median(bare, rate),
               ">=", 0.8),
              ("pipeline CPU / bare CPU per article", stages_ms / bare_ms,
               "<=", 0.6)]
    if rerun:
        checks.append(("rerun seconds (target for a 100k mirror)",
                       median(rerun, lambda s: s["elapsed_time_seconds"]),
                       "<=", 5.0))
    return [f"  {name:<46}{value:6.2f}  target {op} {goal:.2f}: "
            + ("met" if (value >= goal if op == ">=" else value <= goal)
               else "NOT met")
            for name, value, op, goal in checks]


def report(n: int, site: str, results: dict[str, list[dict]],
           variant: dict[str, str]) -> str:
    bare, full, rerun = results["bare"], results["full"], results["rerun"]
    runs = max(len(r) for r in results.values())
    lines = [
        f"site: {site}, {n} articles; {os.cpu_count()} cores; "
        f"{runs} runs per mode, medians",
        "benchmark settings: " + ", ".join(
            f"{k}={v}" for k, v in BENCH_SETTINGS.items()
            if k not in ("LOG_LEVEL", "TELNETCONSOLE_ENABLED")),
        "server: newsmirror.sample.server.SiteServer in its own process",
    ]
    if bare:
        lines.append(crawl_line("bare", bare))
    if full:
        lines.append(crawl_line("full", full))
    if results["variant"]:
        lines.append("variant settings: " + ", ".join(f"{k}={v}" for k, v in variant.items()))
        lines.append(crawl_line("variant", results["variant"])
                     + f"; variant/full articles/s "
                     f"{median(results['variant'], rate) / median(full, rate):.2f}")
    if full:
        lines.append("pipeline CPU ms per article (crawler thread, "
                     "+ at close, + in workers):")
        total = 0.0
        for stage in STAGES:
            ms, closing, worker = (
                per_article(full, f"newsmirror/cpu_ms/{stage}{part}")
                for part in ("", "/close_spider", "/worker"))
            total += ms + closing + worker
            extra = f"  (+ {closing:.3f} at close)" if closing >= 0.0005 else ""
            if worker:
                extra += f"  (+ {worker:.3f} in worker processes)"
            lines.append(f"  {stage:<22}{ms:7.3f}{extra}")
        lines.append(f"  {'all stages':<22}{total:7.3f}")
    if rerun:
        lines.append(
            f"rerun: {median(rerun, lambda s: s['elapsed_time_seconds']):.2f} s "
            f"open to closed ({median(rerun, lambda s: s['work_s']):.2f} s to idle), "
            f"{max(s['article_requests'] for s in rerun)} article requests, "
            f"{max(s.get('item_scraped_count', 0) for s in rerun)} items, "
            f"peak RSS {median(rerun, lambda s: s['peak_rss_mb']):.0f} MB")
    if bare and full:
        # Machines here differ in speed from one session to the next;
        # ratios to a bare crawl of the same run do much less.
        lines.append("targets (issue 15), as ratios to a bare crawl in this run:")
        lines.extend(target_lines(bare, full, rerun))
    everything = [s for r in results.values() for s in r]
    lines.append(
        f"peak RSS, all modes: {max(s['peak_rss_mb'] for s in everything):.0f} MB "
        f"(a worker process: {max(s['worker_peak_rss_mb'] for s in everything):.0f} MB)")
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
                        help="which modes to run (default all; rerun needs full)")
    parser.add_argument("--variant", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="also run the full crawl with this setting, "
                             "alternating with the others (repeatable)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (site, mirrors, logs)")
    parser.add_argument("--crawl-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.crawl_child:
        return crawl_child(args.crawl_child)

    modes = args.modes.split(",")
    if not set(modes) <= {"bare", "full", "rerun"} or (
            "rerun" in modes and "full" not in modes):
        parser.error("--modes: some of bare, full, rerun (rerun needs full)")
    if any("=" not in v for v in args.variant):
        parser.error("--variant: NAME=VALUE")
    variant = dict(v.split("=", 1) for v in args.variant)
    if variant:
        if "full" not in modes:
            parser.error("--variant needs the full mode to compare with")
        modes.append("variant")
    work = Path(tempfile.mkdtemp(prefix="newsmirror-bench-"))
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
        results: dict[str, list[dict]] = {
            m: [] for m in ("bare", "full", "variant", "rerun")}
        try:
            base_url = parent.recv()
            # Modes alternate run by run, so that a machine slowing down
            # or speeding up meanwhile weighs on each alike.
            for run in range(args.repeat):
                for mode in ("bare", "full", "variant"):
                    if mode not in modes:
                        continue
                    # A new directory each time: deleting the last one
                    # would load the disk during the next crawl.
                    results[mode].append(crawl(
                        mode, run, base_url, work / f"mirror-{mode}-{run}",
                        work, parent, variant))
                    print(f"{mode} {run + 1}/{args.repeat}: "
                          f"{rate(results[mode][-1]):.1f} articles/s", flush=True)
            if "rerun" in modes:
                for run in range(args.repeat):
                    results["rerun"].append(crawl(
                        "rerun", run, base_url,
                        work / f"mirror-full-{args.repeat - 1}", work, parent,
                        variant))
                    print(f"rerun {run + 1}/{args.repeat}: "
                          f"{results['rerun'][-1]['elapsed_time_seconds']:.2f} s",
                          flush=True)
        finally:
            parent.send("stop")
            parent.recv()
            server.join()
        print(report(n, "generated from the sample" if not args.site
                     else str(args.site), results, variant))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
