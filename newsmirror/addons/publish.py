"""Publishing settings derived and checked before they freeze.

PUBLISH_BRANCH, when empty, is the branch MIRROR_BASE_URL names, so the
pages are pushed where their share links point. While MIRROR_BASE_URL is
still the placeholder OWNER/REPO one and the first remote of PUBLISH_TO is
on GitHub, GitLab or Gitea, the page URL is derived from that remote: a
share link or QR code must never point at OWNER/REPO by mistake.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from newsmirror.publish.publisher import Options

PLACEHOLDER = "/OWNER/REPO/"
DEFAULT_BRANCH = "master"
# A branch in a page URL, as each kind of host writes it.
_BRANCH_IN_URL = re.compile(r"/(?:-/)?(?:blob|tree|src/branch)/([^/]+)")
# user@host:path, git's scp-like ssh syntax.
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


def remotes(settings) -> list[str]:
    return [url.strip() for url in settings.getlist("PUBLISH_TO") if url.strip()]


def branch_of(base_url: str) -> str | None:
    match = _BRANCH_IN_URL.search(urlsplit(base_url).path)
    return match and match.group(1)


def page_base_url(remote: str, branch: str) -> str | None:
    """The web URL of the branch's files for a GitHub, GitLab or Gitea
    remote (https or ssh); None for any other."""
    parts = urlsplit(remote)
    if parts.scheme in ("https", "http", "ssh", "git"):
        host, path = parts.hostname or "", parts.path
        if parts.scheme.startswith("http") and parts.port:
            host = f"{host}:{parts.port}"
    elif match := _SCP_LIKE.match(remote):
        host, path = match["host"], match["path"]
    else:
        return None
    path = path.strip("/").removesuffix(".git")
    if path.count("/") < 1:
        return None
    if host == "github.com":
        return f"https://{host}/{path}/blob/{branch}"
    if host == "gitlab.com" or host.startswith("gitlab."):
        return f"https://{host}/{path}/-/blob/{branch}"
    if host == "codeberg.org" or host.startswith("gitea."):
        return f"https://{host}/{path}/src/branch/{branch}"
    return None


def usable_branch(branch) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9._/-]+", branch or "")) and ".." not in branch \
        and not branch.startswith(("/", "-", ".")) and not branch.endswith((".lock", "/"))


def options(settings) -> Options:
    return Options(
        remotes=tuple(remotes(settings)),
        branch=settings.get("PUBLISH_BRANCH"),
        author=(settings.get("PUBLISH_AUTHOR_NAME"),
                settings.get("PUBLISH_AUTHOR_EMAIL")),
        timeout=settings.getfloat("PUBLISH_TIMEOUT"),
        retries=settings.getint("PUBLISH_RETRIES"),
    )


class PublishSettings:
    def update_settings(self, settings) -> None:
        base_url = settings.get("MIRROR_BASE_URL")
        if not settings.get("PUBLISH_BRANCH"):
            settings.set("PUBLISH_BRANCH", branch_of(base_url) or DEFAULT_BRANCH,
                         priority=settings.getpriority("PUBLISH_BRANCH"))
        to = remotes(settings)
        if to and PLACEHOLDER in base_url:
            derived = page_base_url(to[0], settings.get("PUBLISH_BRANCH"))
            if derived:
                settings.set("MIRROR_BASE_URL", derived,
                             priority=settings.getpriority("MIRROR_BASE_URL"))
