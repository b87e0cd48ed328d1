"""One publish run: commit what changed in the mirror, push it everywhere.

MIRROR_DIR is a Git work tree (made on first use). A run takes the publish
lock (two crawls or Redis workers finishing together publish one after the
other), repairs what a killed run left, commits exactly the published
files that changed in one commit, and pushes every commit a remote lacks
to each remote in its own thread, with retries and backoff within a time
limit. What a remote lacks is known from a local ref per remote, updated
only after its push succeeded: a run that was killed or failed pushes it
again next time, and a run with nothing pending does not push.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from newsmirror.mirror import layout
from newsmirror.mirror.catalog import Catalog
from newsmirror.mirror.files import TEMP_SUFFIX
from newsmirror.mirror.lock import try_flock
from newsmirror.publish.git import GitError, Repo, mask

logger = logging.getLogger(__name__)

LOCK = ".newsmirror/publish.lock"
# Git's exclude file: only the published files are ever staged; never the
# crawler's state (.newsmirror/), files being written, anything else.
EXCLUDED = ["/*", *(f"!/{p}" for p in layout.PUBLISHED_FILES + layout.PUBLISHED_DIRS),
            f".*{TEMP_SUFFIX}"]
# GitHub refuses a file over 100 MB in a push, and keeps refusing every
# later push holding that commit: such a file is left out, with a warning.
MAX_FILE_BYTES = 95 * 1024 * 1024


class PublishBusy(Exception):
    """Another publisher held the lock for the whole time limit."""


@dataclass(frozen=True)
class Options:
    remotes: tuple[str, ...]
    branch: str
    author: tuple[str, str]
    timeout: float  # seconds for the whole push to one remote, retries included
    retries: int
    backoff: float = 2.0  # seconds before the first retry, doubled each time


@dataclass
class RemoteOutcome:
    url: str  # masked
    pushed: int = 0  # commits delivered by this run
    pending: int = 0  # commits the remote still lacks
    error: str | None = None
    attempts: int = 0


@dataclass
class Outcome:
    commit: str | None = None
    message: str | None = None
    files: int = 0
    remotes: list[RemoteOutcome] = field(default_factory=list)
    repo_bytes: int = 0
    repaired: list[str] = field(default_factory=list)
    skipped_large: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RemoteOutcome]:
        return [r for r in self.remotes if r.error]


def tracking_ref(url: str, branch: str) -> str:
    """The local ref holding what the remote at url has: keyed by the
    masked URL, so a changed token keeps the remote's history."""
    key = hashlib.sha1(mask(url).encode()).hexdigest()[:16]
    return f"refs/newsmirror/{key}/{branch}"


def pending_commits(repo: Repo, tracking: str, tip: str) -> int:
    """Commits up to tip that the remote of the tracking ref lacks."""
    pushed = repo.ref(tracking)
    return repo.count(f"{pushed}..{tip}" if pushed else tip)


def describe(changes: list[tuple[str, str]], mirror_dir: Path) -> str:
    """The commit message: what the commit holds, new articles by channel
    (site/channel when they are of more than one site)."""
    pages = {"new": [], "updated": [], "removed": []}
    kinds = Counter()
    for status, path in changes:
        if path.startswith("pages/") and path.endswith(".md"):
            state = {"D": "removed", "A": "new"}.get(status, "updated")
            pages[state].append(path)
        else:
            kinds[_kind(path)] += 1
    parts = []
    if pages["new"]:
        channels = _channels(mirror_dir, pages["new"]).values()
        one_site = len({site for site, _ in channels}) == 1
        by_channel = Counter(channel if one_site else f"{site}/{channel}"
                             for site, channel in channels)
        natural = sorted(by_channel, key=lambda c: [int(t) if t.isdigit() else t
                                                    for t in re.split(r"(\d+)", c)])
        n = len(pages["new"])
        parts.append(f"{n} new article{'s' if n != 1 else ''}: "
                     + ", ".join(f"{c} {by_channel[c]}" for c in natural))
    for state in ("updated", "removed"):
        if pages[state]:
            parts.append(f"{len(pages[state])} {state}")
    subject = "; ".join(parts) or "list pages updated"
    body = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    return f"{subject}\n\n{body}" if body else subject


def _kind(path: str) -> str:
    if path.endswith(".png") and path.startswith("pages/"):
        return "QR images"
    return {"indexes": "indexes", "tags": "tag pages", "images": "images",
            "pages": "pages"}.get(path.split("/", 1)[0], path)


def _channels(mirror_dir: Path, pages: list[str]) -> dict[str, tuple[str, str]]:
    """page path -> (site, channel), from the catalog ("other" for pages it
    lacks)."""
    found = {}
    if (mirror_dir / ".newsmirror" / "catalog.sqlite3").exists():
        catalog = Catalog(mirror_dir)
        try:
            found = catalog.channels_of(pages)
        finally:
            catalog.close()
    return {p: found.get(p, ("", "other")) for p in pages}


class Publisher:
    def __init__(self, mirror_dir: Path | str, options: Options):
        self.mirror_dir = Path(mirror_dir)
        self.options = options
        self.repo = Repo(self.mirror_dir, options.author)
        # One thread at a time rewrites the branch (fetch and rebase).
        self.integrating = threading.Lock()

    def run(self) -> Outcome:
        with self.lock():
            outcome = Outcome()
            self.repo.ensure(self.options.branch, EXCLUDED)
            outcome.repaired = self.repo.repair()
            if outcome.repaired:
                logger.warning("repaired what a killed publish left: %s",
                               ", ".join(outcome.repaired))
            self.commit(outcome)
            self.branch = self.repo.text("symbolic-ref", "-q", "HEAD")
            with ThreadPoolExecutor(max(1, len(self.options.remotes))) as pool:
                outcome.remotes = list(pool.map(self.push, self.options.remotes))
            outcome.repo_bytes = self.repo.size()
            return outcome

    @contextmanager
    def lock(self):
        """The publish lock, waited for at most the time limit (the kernel
        releases it on a kill)."""
        path = self.mirror_dir / LOCK
        deadline = time.monotonic() + self.options.timeout
        while (fd := try_flock(path)) is None:
            if time.monotonic() > deadline:
                raise PublishBusy(f"another publisher holds {path}")
            time.sleep(0.1)
        try:
            yield
        finally:
            os.close(fd)

    def commit(self, outcome: Outcome) -> None:
        changes = []
        for status, path in self.repo.stage_all():
            full = self.mirror_dir / path
            if status != "D" and full.is_file() and full.stat().st_size > MAX_FILE_BYTES:
                outcome.skipped_large.append(path)
                logger.warning("not published, larger than a Git host takes: %s", path)
            else:
                changes.append((status, path))
        if outcome.skipped_large:
            self.repo.unstage(outcome.skipped_large)
        if not changes:
            return
        outcome.message = describe(changes, self.mirror_dir)
        outcome.commit = self.repo.commit(outcome.message)
        outcome.files = len(changes)
        logger.info("committed %s: %s (%d files)", outcome.commit[:12],
                    outcome.message.splitlines()[0], outcome.files)

    def tip(self) -> str | None:
        with self.integrating:
            return self.repo.ref(self.branch)

    def push(self, url: str) -> RemoteOutcome:
        opts = self.options
        result = RemoteOutcome(mask(url))
        tracking = tracking_ref(url, opts.branch)
        deadline = time.monotonic() + opts.timeout
        wait = opts.backoff
        while True:
            tip = self.tip()
            if tip is None or not (pending := pending_commits(self.repo, tracking, tip)):
                result.pending = 0
                return result
            result.pending = pending
            if time.monotonic() >= deadline:
                break
            result.attempts += 1
            try:
                status = self.repo.push(url, tip, opts.branch,
                                        deadline - time.monotonic())
                if status.ok:
                    self.repo.update_ref(tracking, tip)
                    result.pushed += pending
                    result.error = None
                    continue  # the branch may have moved on meanwhile
                result.error = f"push rejected: {status.summary}"
                if status.remote_moved_on:
                    # Not a failure of the remote: no wait, no retry spent.
                    self.integrate(url, tracking, deadline)
                    result.attempts -= 1
                    continue
            except GitError as e:
                result.error = e.output or str(e)
            if result.attempts > opts.retries or \
                    time.monotonic() + wait >= deadline:
                break
            logger.warning("push to %s failed, retrying in %.0f s: %s",
                           result.url, wait, result.error)
            time.sleep(wait)
            wait *= 2
        logger.error("push to %s failed (%d attempts), %d commits pending "
                     "there: %s", result.url, result.attempts, result.pending,
                     result.error or "out of time")
        result.error = result.error or "out of time"
        return result

    def integrate(self, url: str, tracking: str, deadline: float) -> None:
        """Put the mirror's commits on top of the remote's new ones.

        Rebased, unless some of them are on another remote already: those
        are not rewritten (the remotes would then disagree run after run);
        the remote's commits are merged instead. Either way the mirror's
        version of a file both changed wins: it is generated.
        """
        with self.integrating:
            self.repo.fetch(url, self.options.branch, tracking,
                            max(1.0, deadline - time.monotonic()))
            others = [ref for u in self.options.remotes if u != url
                      if (ref := self.repo.ref(tracking_ref(u, self.options.branch)))]
            if any(self.repo.count(f"{tracking}..{ref}") for ref in others):
                self.repo.merge(tracking)
                logger.info("%s had moved on: its commits merged", mask(url))
            else:
                self.repo.rebase(tracking)
                logger.info("%s had moved on: the mirror's commits replayed "
                            "on top of its own", mask(url))

