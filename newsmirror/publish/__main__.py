"""Publish an existing mirror without crawling: `python -m newsmirror.publish`.

Takes the project's settings, with `-s NAME=VALUE` overrides as `scrapy
crawl` does (MIRROR_DIR, PUBLISH_TO, ...); prints what was committed and,
per remote, what was pushed and what is still pending there. Exits 1 if a
remote could not be brought up to date. `--pending` only reports.
"""
from __future__ import annotations

import argparse
import logging
import sys

from scrapy.utils.project import get_project_settings

from newsmirror import checks
from newsmirror.addons.publish import PublishSettings, options
from newsmirror.publish.git import GitError, Repo, mask
from newsmirror.publish.publisher import (Publisher, PublishBusy, pending_commits,
                                          tracking_ref)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsmirror.publish",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-s", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="set a setting (repeatable)")
    parser.add_argument("--pending", action="store_true",
                        help="only report the commits each remote lacks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    settings = get_project_settings()
    for pair in args.settings:
        name, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"-s {pair}: expected NAME=VALUE")
        settings.set(name, value, priority="cmdline")
    problems = checks.setting_problems(settings)
    if problems:
        parser.error("; ".join(problems))
    PublishSettings().update_settings(settings)
    opts = options(settings)
    if not opts.remotes:
        parser.error("PUBLISH_TO is empty: give -s PUBLISH_TO=<git remote URL>,...")
    mirror_dir = settings.get("MIRROR_DIR")
    if args.pending:
        return report_pending(Repo(mirror_dir, opts.author), opts)
    try:
        outcome = Publisher(mirror_dir, opts).run()
    except (PublishBusy, GitError, OSError) as e:
        print(f"publishing failed: {mask(str(e))}", file=sys.stderr)
        return 1
    print(f"commit {outcome.commit[:12]}: {outcome.message.splitlines()[0]}"
          if outcome.commit else "nothing new to commit")
    for remote in outcome.remotes:
        state = (f"FAILED, {remote.pending} commits pending: {remote.error}"
                 if remote.error else f"up to date ({remote.pushed} commits pushed)")
        print(f"{remote.url}: {state}")
    print(f"repository {outcome.repo_bytes / 2**20:.1f} MiB")
    return 1 if outcome.failed else 0


def report_pending(repo: Repo, opts) -> int:
    if not repo.git_dir.exists():
        print(f"{repo.path} is not published yet (no .git)")
        return 0
    tip = repo.head()
    for url in opts.remotes:
        tracking = tracking_ref(url, opts.branch)
        pending = 0 if tip is None else pending_commits(repo, tracking, tip)
        print(f"{mask(url)}: {pending} commits pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
