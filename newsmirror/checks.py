"""Every setting and spider argument a user can give, checked before a crawl.

One line per setting (SETTINGS) and spider argument (ARGUMENTS): what is
allowed, in words for the message, and the test of a value. The `crawl`
command (newsmirror/commands/crawl.py, which scrapyd's jobs run too) logs
one line per bad value, naming it, its value and what is allowed, and
stops before the crawl starts; a bad value found later would hang the
crawl or bury its name in a traceback. A new setting gets a line here
(tests/test_checks.py fails without one).
"""
from __future__ import annotations

import difflib
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings, default_settings

from newsmirror import settings as project_settings
from newsmirror.addons.publish import usable_branch
from newsmirror.mirror.files import UnsafePath, inside
from newsmirror.sites import profiles


class Invalid(ValueError):
    """A value a check refuses; its text, if any, says why."""


@dataclass(frozen=True)
class Rule:
    allowed: str  # what values are allowed, for the message
    check: Callable[[BaseSettings, str], None]  # raises Invalid, ValueError or TypeError


def _whole(low: int, high: int | None = None, note: str = "") -> Rule:
    def check(settings, name):
        # Strictly digits: int() would take 2.5 from settings.py as 2.
        value = int(str(settings.get(name)).strip())
        if value < low or (high is not None and value > high):
            raise Invalid
    upto = f" and <= {high}" if high is not None else ""
    return Rule(f"a whole number >= {low}{upto}{note}", check)


def _number(low: float, above: bool = False) -> Rule:
    def check(settings, name):
        value = settings.getfloat(name)
        if not math.isfinite(value) or not (value > low if above else value >= low):
            raise Invalid
    return Rule(f"a finite number {'>' if above else '>='} {low:g}", check)


def _flag() -> Rule:
    return Rule("True or False (1 or 0)", lambda settings, name: settings.getbool(name))


def _url(schemes: tuple[str, ...], empty: bool = False) -> Rule:
    def check(settings, name):
        value = settings.get(name)
        if empty and not value:
            return
        parts = urlsplit(value)
        if parts.scheme not in schemes or not (parts.netloc or parts.scheme == "unix"):
            raise Invalid
    allowed = f"an absolute {' or '.join(f'{s}://' for s in schemes)} URL"
    return Rule(allowed + (" or empty" if empty else ""), check)


def _text(empty_means: str = "") -> Rule:
    """A text; empty too when empty_means says what empty does."""
    def check(settings, name):
        value = settings.get(name)
        if not isinstance(value, str) or not (value.strip() or empty_means and not value):
            raise Invalid
    return Rule(f"a text (empty: {empty_means})" if empty_means else "a non-empty text",
                check)


def _writable_dir(optional: bool = False) -> Rule:
    def check(settings, name):
        value = settings.get(name)
        if optional and not value:
            return
        if not isinstance(value, (str, Path)) or not str(value).strip():
            raise Invalid
        # Tried in the deepest folder that exists, creating nothing: a
        # crawl that does not start leaves no trace.
        path = Path(value)
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir():
            raise Invalid(f"{existing} is not a directory")
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as e:
            raise Invalid(f"cannot write in {existing}: {e.strerror or e}") from None
    allowed = "a directory this user can create and write in"
    return Rule(allowed + (" (or empty)" if optional else ""), check)


def _links() -> Rule:
    def check(settings, name):
        for label, target in settings.getdict(name).items():
            if not (isinstance(label, str) and label.strip()
                    and isinstance(target, str) and target.strip()):
                raise Invalid(f"label {label!r}, target {target!r}")
            if urlsplit(target).scheme in ("http", "https"):
                continue
            try:
                inside(Path("."), target)
            except UnsafePath:
                raise Invalid(f"{target!r} leaves the mirror") from None
    return Rule('a JSON object {"label": "path in the mirror or http(s) URL"} '
                "({}: the default links)", check)


def _branch() -> Rule:
    def check(settings, name):
        if settings.get(name) and not usable_branch(settings.get(name)):
            raise Invalid
    return Rule("a Git branch name (empty: the branch in MIRROR_BASE_URL)", check)


def _json_object() -> Rule:
    return Rule("a JSON object", lambda settings, name: settings.getdict(name))


def _strings() -> Rule:
    def check(settings, name):
        if not all(isinstance(v, str) for v in settings.getlist(name)):
            raise Invalid
    return Rule("comma-separated values", check)


# Every setting a user may give: the project's own and Scrapy's that the
# README tells users to change.
SETTINGS: dict[str, Rule] = {
    # Each source's root: SECRETCHINA_BASE_URL, SOUNDOFHOPE_BASE_URL, ...
    **{f"{name.upper()}_BASE_URL": _url(("http", "https")) for name in profiles()},
    "MIRROR_DIR": _writable_dir(),
    "MIRROR_BASE_URL": _url(("http", "https"), empty=True),  # empty: no share block
    "MIRROR_TITLE": _text("the sites' names"),
    "MIRROR_INDEX_SIZE": _whole(1),
    "MIRROR_HOME_SIZE": _whole(1),
    "MIRROR_FEED_SIZE": _whole(1),
    "MIRROR_INDEX_EVERY": _whole(1),
    "MIRROR_CATALOG_BATCH": _whole(1),
    "MIRROR_KEEP_PER_CHANNEL": _whole(0, note=" (0: keep all)"),
    "MIRROR_ARTICLE_WINDOW": _whole(0, note=" (0: no limit)"),
    "MIRROR_WORKERS": _whole(0, 64, " (0: in the crawler's thread)"),
    "MIRROR_MENU": _links(),
    "MIRROR_FOOTER": _links(),
    "MIRROR_IMAGES": _flag(),
    "MIRROR_IMAGES_MAX_SIDE": _whole(16),
    "MIRROR_IMAGES_QUALITY": _whole(1, 95, " (pillow's JPEG range)"),
    "MIRROR_IMAGES_MAX_BYTES": _whole(1024),
    "MIRROR_IMAGES_MAX_DOWNLOAD": _whole(1),
    "MIRROR_IMAGES_MAX_PIXELS": _whole(1),
    "MIRROR_IMAGES_RETRIES": _whole(0),
    "REDIS_URL": _url(("redis", "rediss", "unix"), empty=True),
    "REDIS_WORKER_LEASE": _whole(1),
    "CONTACT_URL": _url(("http", "https")),
    "RETRY_BACKOFF_BASE": _number(0),
    "RETRY_BACKOFF_MAX": _number(0),
    "META_COPY_WARN_SKIP_KEYS": _strings(),
    "PUBLISH_TO": _strings(),
    "PUBLISH_BRANCH": _branch(),
    "PUBLISH_AUTHOR_NAME": _text(),
    "PUBLISH_AUTHOR_EMAIL": _text(),
    "PUBLISH_TIMEOUT": _number(0, above=True),
    "PUBLISH_RETRIES": _whole(0),
    # Scrapy's
    "JOBDIR": _writable_dir(optional=True),
    "FEEDS": _json_object(),
    "ROBOTSTXT_OBEY": _flag(),
    "CONCURRENT_REQUESTS": _whole(1),
    "CONCURRENT_REQUESTS_PER_DOMAIN": _whole(1),
    "CONCURRENT_ITEMS": _whole(1),
    "SCRAPER_SLOT_MAX_ACTIVE_SIZE": _whole(1),
    "DOWNLOAD_DELAY": _number(0),
    "AUTOTHROTTLE_ENABLED": _flag(),
    "AUTOTHROTTLE_START_DELAY": _number(0),
    "AUTOTHROTTLE_MAX_DELAY": _number(0),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": _number(0, above=True),
    "HTTPCACHE_ENABLED": _flag(),
    "DOWNLOAD_TIMEOUT": _number(0, above=True),
    "DOWNLOAD_MAXSIZE": _whole(0, note=" (0: no limit)"),
    "DOWNLOAD_WARNSIZE": _whole(0, note=" (0: no warning)"),
    "RETRY_ENABLED": _flag(),
    "RETRY_TIMES": _whole(0),
    "REDIRECT_MAX_TIMES": _whole(0),
    "MEDIA_ALLOW_REDIRECTS": _flag(),
    "LOGSTATS_INTERVAL": _number(0),
}


@dataclass(frozen=True)
class ArgumentRule:
    allowed: Callable[[type], str]  # from the spider class
    check: Callable[[type, str], None]


def _channel_ids(spidercls, value: str) -> None:
    ids = [c.strip() for c in value.split(",") if c.strip()]
    unknown = [c for c in ids if c not in spidercls.site.channels]
    if not ids or unknown:
        raise Invalid(f"unknown: {', '.join(unknown)}" if unknown else "")


ARGUMENTS: dict[str, ArgumentRule] = {
    "channels": ArgumentRule(
        lambda spidercls: "comma-separated channels of the site: "
                          + ", ".join(spidercls.site.channels),
        _channel_ids),
}


def _problem(kind: str, name: str, value, allowed: str, error: Exception) -> str:
    why = f" ({error})" if isinstance(error, Invalid) and str(error) else ""
    return f"bad {kind} {name}={value!r}: allowed: {allowed}{why}"


def setting_problems(settings: BaseSettings) -> list[str]:
    """One line per setting whose value is not allowed."""
    problems = []
    for name, rule in SETTINGS.items():
        if name not in settings:
            continue
        try:
            rule.check(settings, name)
        except (ValueError, TypeError) as e:
            problems.append(_problem("setting", name, settings.get(name),
                                     rule.allowed, e))
    return problems


def argument_problems(spidercls: type, arguments: dict[str, str]) -> list[str]:
    """One line per spider argument whose value is not allowed."""
    problems = []
    for name, value in arguments.items():
        rule = ARGUMENTS.get(name)
        if rule is None:
            continue
        try:
            rule.check(spidercls, value)
        except (ValueError, TypeError) as e:
            problems.append(_problem("spider argument", name, value,
                                     rule.allowed(spidercls), e))
    return problems


def dict_setting_problems(settings: BaseSettings, assignments: list[str]) -> list[str]:
    """One line per `-s NAME=VALUE` of a dict setting (FEEDS) whose value
    is not a JSON object: Scrapy parses those before any check can run."""
    problems = []
    for name, _, value in (a.partition("=") for a in assignments):
        if isinstance(settings.get(name), BaseSettings):
            try:
                if not isinstance(json.loads(value), dict):
                    raise Invalid
            except ValueError as e:
                problems.append(_problem("setting", name, value, "a JSON object", e))
    return problems


def _known_settings() -> set[str]:
    return ({n for n in dir(default_settings) if n.isupper()}
            | {n for n in dir(project_settings) if n.isupper()} | set(SETTINGS))


def _near_miss(kind: str, name: str, same_kind, other: tuple[str, str, set]) -> str | None:
    """A warning if `name` is one of the other kind (`-s CHANNELS` for
    `-a channels`) or close to a known name of its own kind."""
    other_kind, other_name, other_names = other
    if other_name in other_names:
        flag = "-a" if other_kind == "spider argument" else "-s"
        return (f"{name} is not a {kind} but a {other_kind}: "
                f"{flag} {other_name}=... ; ignored")
    close = difflib.get_close_matches(name, same_kind, n=1, cutoff=0.75)
    return f"unknown {kind} {name}, ignored: did you mean {close[0]}?" if close else None


def near_misses(settings: BaseSettings, arguments: dict[str, str]) -> list[str]:
    """Warnings for a setting given on the command line or a spider argument
    that is none of ours but looks like one (CHANNELS, MIRROR_WINDOW)."""
    known = _known_settings()
    given = [name for name in settings if name not in known
             and settings.getpriority(name) >= SETTINGS_PRIORITIES["cmdline"]]
    warnings = [_near_miss("setting", name, known,
                           ("spider argument", name.lower(), set(ARGUMENTS)))
                for name in given]
    # scrapyd passes _job and the like.
    warnings += [_near_miss("spider argument", name, ARGUMENTS,
                            ("setting", name.upper(), known))
                 for name in arguments
                 if name not in ARGUMENTS and not name.startswith("_")]
    return [w for w in warnings if w]
