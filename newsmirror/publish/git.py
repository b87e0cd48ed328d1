"""The git command line, run as a subprocess, for one mirror work tree.

The CLI (rather than pygit2, dulwich or GitPython; issue 12 measured them)
commits fast, reports a push the server refused as refused, and uses the
operator's ssh config and credential helpers. Every message that leaves
this module has the secret of an https URL masked.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

# user:password@ or token@ in a URL: git accepts both for https.
_CREDENTIALS = re.compile(r"(?i)\b(https?://)[^/@\s]+@")
# Lock files git leaves behind when it is killed; the publish lock
# guarantees no git of ours runs when they are found.
_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "config.lock",
          "packed-refs.lock", "shallow.lock")
# Variables that would point git at another repository than the mirror's.
_REPO_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX",
                   "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                   "GIT_COMMON_DIR", "GIT_NAMESPACE")


def mask(text: str) -> str:
    """text with the credentials of every http(s) URL in it replaced."""
    return _CREDENTIALS.sub(r"\1***@", text)


class GitError(Exception):
    """A git command failed; the message is git's own, masked."""

    def __init__(self, args: list[str], status: int | None, output: str):
        self.status = status
        # One line, for the log: git's messages run over several.
        self.output = mask(" / ".join(filter(None, map(str.strip, output.splitlines()))))
        what = "timed out" if status is None else f"exited {status}"
        super().__init__(f"git {mask(' '.join(args))} {what}: {self.output}")


@dataclass(frozen=True)
class PushStatus:
    """A pushed ref's line of `git push --porcelain`."""
    flag: str  # " " fast-forward, "*" new, "=" up to date, "!" rejected, ...
    summary: str

    @property
    def ok(self) -> bool:
        return self.flag in " *="

    @property
    def remote_moved_on(self) -> bool:
        return self.flag == "!" and ("fetch first" in self.summary
                                     or "non-fast-forward" in self.summary)


class Repo:
    """A work tree with its .git inside, at path."""

    def __init__(self, path: Path | str, author: tuple[str, str]):
        self.path = Path(path).resolve()
        self.git_dir = self.path / ".git"
        name, email = author
        self.env = {k: v for k, v in os.environ.items() if k not in _REPO_VARIABLES}
        self.env.update(
            GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
            GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email,
            # No prompt for a password nobody is there to type.
            GIT_TERMINAL_PROMPT="0",
            # Never open an editor (rebase, commit).
            GIT_EDITOR="true",
        )

    def run(self, *args: str, input: bytes | None = None,
            timeout: float | None = None, check: bool = True
            ) -> subprocess.CompletedProcess:
        cmd = ["git", f"--git-dir={self.git_dir}", f"--work-tree={self.path}",
               "-c", "core.quotepath=false",
               # gc in the foreground, under the publish lock, not racing
               # the next run in the background.
               "-c", "gc.autoDetach=false",
               # Nobody is there to type a signing key's passphrase.
               "-c", "commit.gpgSign=false", *args]
        # In a session of its own: no terminal for ssh to prompt on, and a
        # timeout ends its helpers too (git-remote-http, ssh), which hold
        # its output pipes.
        proc = subprocess.Popen(cmd, cwd=self.path, env=self.env,
                                stdin=subprocess.PIPE if input is not None
                                else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise GitError(list(args), None, err.decode(errors="replace"))
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        if check and proc.returncode:
            raise GitError(list(args), proc.returncode,
                           (err or out).decode(errors="replace"))
        return result

    def text(self, *args: str, **kwargs) -> str:
        return self.run(*args, **kwargs).stdout.decode().strip()

    # -- the work tree --------------------------------------------------

    def ensure(self, branch: str, excluded: list[str]) -> bool:
        """Make path a work tree on first use, with excluded (gitignore
        patterns) never staged; True if it was created."""
        created = not self.git_dir.exists()
        if created:
            self.path.mkdir(parents=True, exist_ok=True)
            self.run("init", "-q", f"--initial-branch={branch}")
        exclude = self.git_dir / "info" / "exclude"
        wanted = "".join(f"{p}\n" for p in excluded)
        if not exclude.exists() or exclude.read_text() != wanted:
            exclude.parent.mkdir(parents=True, exist_ok=True)
            exclude.write_text(wanted)
        return created

    def repair(self) -> list[str]:
        """Undo what a killed git left: lock files and a rebase half done.

        Call only while holding the publish lock (no other git of ours runs).
        Returns what was repaired, for the log.
        """
        repaired = [name for name in _LOCKS if (self.git_dir / name).exists()]
        for name in repaired:
            (self.git_dir / name).unlink()
        for lock in (self.git_dir / "refs").rglob("*.lock"):
            lock.unlink()
            repaired.append(lock.relative_to(self.git_dir).as_posix())
        if (self.git_dir / "rebase-merge").exists() \
                or (self.git_dir / "rebase-apply").exists():
            self.run("rebase", "--abort", check=False)
            repaired.append("unfinished rebase")
        return repaired

    def stage_all(self) -> list[tuple[str, str]]:
        """Stage every change the exclude file lets through (additions,
        changes, deletions); return (status, path) of what is staged,
        status being A, M, D or T."""
        # One `add -A`: a pathspec per file is matched against every file
        # (a 100,000-file first commit took 14 minutes that way).
        self.run("add", "-A")
        out = self.run("diff", "--cached", "--name-status", "--no-renames",
                       "-z").stdout.decode()
        fields = out.split("\0")
        return list(zip(fields[0:-1:2], fields[1::2]))

    def unstage(self, paths: list[str]) -> None:
        if self.head():
            self.run("reset", "-q", "--", *paths)
        else:
            self.run("rm", "-q", "--cached", "--", *paths)

    def commit(self, message: str) -> str:
        """Commit what is staged; return the new commit id."""
        self.run("commit", "-q", "-m", message)
        return self.head()

    def head(self) -> str | None:
        return self.ref("HEAD")

    def count(self, revisions: str) -> int:
        return int(self.text("rev-list", "--count", revisions))

    def size(self) -> int:
        """Bytes of the object store (packed and loose)."""
        fields = dict(line.split(": ") for line in
                      self.text("count-objects", "-v").splitlines())
        return (int(fields["size"]) + int(fields["size-pack"])) * 1024

    # -- remotes ---------------------------------------------------------

    def push(self, url: str, commit: str, branch: str,
             timeout: float) -> PushStatus:
        """Push commit to the remote's branch (never forced)."""
        ref = f"refs/heads/{branch}"
        result = self.run("push", "--porcelain", url, f"{commit}:{ref}",
                          timeout=timeout, check=False)
        for line in result.stdout.decode(errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1].endswith(f":{ref}"):
                return PushStatus(parts[0], mask(
                    " ".join(parts[2:]).strip() + _host_message(result)))
        # No status line: git could not reach the remote or talk to it.
        raise GitError(["push", url], result.returncode,
                       result.stderr.decode(errors="replace"))

    def fetch(self, url: str, branch: str, into: str, timeout: float) -> None:
        """The remote's branch into the local ref `into` (forced: it is
        a copy of the remote's state, not our work)."""
        self.run("fetch", "-q", "--no-tags", url, f"+refs/heads/{branch}:{into}",
                 timeout=timeout)

    def rebase(self, onto: str) -> None:
        """Replay our commits on onto; on a conflict the mirror's version
        wins (it is generated), and git's error is raised after an abort."""
        try:
            self.run("rebase", "-q", "--autostash", "-X", "theirs", onto)
        except GitError:
            self.run("rebase", "--abort", check=False)
            raise

    def merge(self, other: str) -> None:
        """Merge other in; on a conflict the mirror's version wins."""
        try:
            # Unrelated: a remote the host made with a README of its own.
            self.run("merge", "-q", "--no-edit", "--allow-unrelated-histories",
                     "-X", "ours", other)
        except GitError:
            self.run("merge", "--abort", check=False)
            raise

    def update_ref(self, ref: str, commit: str) -> None:
        self.run("update-ref", ref, commit)

    def ref(self, ref: str) -> str | None:
        result = self.run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}",
                          check=False)
        return result.stdout.decode().strip() or None


def _host_message(result: subprocess.CompletedProcess) -> str:
    """The remote's own words (`remote: ...`), e.g. GitHub's GH001."""
    lines = [line for line in result.stderr.decode(errors="replace").splitlines()
             if line.startswith("remote:") and line[7:].strip()]
    return (": " + " / ".join(line[7:].strip() for line in lines)) if lines else ""
