"""Find the files a path names, lazily, and name every entry that cannot be read as a file.

A folder is walked in sorted order one directory at a time, so a huge tree streams. Entries that are
not files to read (a symbolic link loop, a broken link, a link to a folder, a named pipe or device, a
folder that cannot be listed) come out as a `Skip` with the reason, never silently dropped.
"""

from __future__ import annotations

import errno
import glob
import os
import stat
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

from vectorsync.errors import InputError
from vectorsync.records import Skip
from vectorsync.sources.names import absolute, printable, source_name

_GLOB_CHARS = frozenset("*?[")
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def discover(path: str | Path) -> Iterator[Path | Skip]:
    """The files `path` names (the file itself, a folder's files at any depth, or a glob's matches), and skips.

    Files come resolved and once each, in sorted order; hidden files and folders (`.git`, `.vectorsync`)
    are left out of folder walks. The path is checked at once: `InputError` is raised here, before
    iteration, when it does not exist or names nothing at all. The walk itself runs as it is iterated.
    """
    given = Path(path).expanduser()
    entries = _entries(given)
    first = next(entries, None)
    if first is None:
        raise InputError(printable(str(given)), "no files found (hidden files and folders are skipped)")
    return _once(chain([first], entries))


def _entries(given: Path) -> Iterator[Path | Skip]:
    try:
        mode = given.stat().st_mode
    except OSError as exc:
        if _GLOB_CHARS & set(str(given)) and (matches := sorted(glob.glob(str(given), recursive=True))):
            return chain.from_iterable(_expand(Path(match)) for match in matches)
        raise InputError(printable(str(given)), _unreachable(given, exc)) from None
    if stat.S_ISDIR(mode):
        return _walk(given)
    if stat.S_ISREG(mode):
        return iter([absolute(given)])
    kind = kind_of(mode)
    raise InputError(printable(str(given)), f"not a regular file or folder: {kind}")


def _expand(match: Path) -> Iterator[Path | Skip]:
    """A glob match: a folder's files, the file itself, or a skip saying why it is neither."""
    if match.is_dir():
        yield from _walk(match)
    else:
        yield _classify(match)


def _walk(root: Path) -> Iterator[Path | Skip]:
    """Files under `root` at any depth in sorted path order, with an explicit stack (deep trees do not recurse)."""
    pending: list[Iterator[os.DirEntry[str] | Skip]] = [_listing(root)]
    while pending:
        entry = next(pending[-1], None)
        if entry is None:
            pending.pop()
        elif isinstance(entry, Skip):
            yield entry
        elif entry.name.startswith("."):
            continue
        elif _is_real_folder(entry):
            pending.append(_listing(Path(entry.path)))
        else:
            yield _classify(Path(entry.path))


def _listing(folder: Path) -> Iterator[os.DirEntry[str] | Skip]:
    """The entries of one folder sorted as their full paths sort (`a.md` < `a/x.md` < `a0.md`), or one skip."""
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name + "/" if _is_real_folder(entry) else entry.name)
    except OSError as exc:
        reason = f"cannot list the folder ({exc.strerror or exc}); its files are left out"
        return iter([Skip(source_name(folder), reason)])
    return iter(entries)


def _is_real_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _classify(path: Path) -> Path | Skip:
    """A readable file's resolved path, or a skip that says what the entry is instead (links are named as links)."""
    name = printable(os.path.abspath(path))
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return Skip(name, _unreachable(path, exc))
    if stat.S_ISREG(mode):
        return absolute(path)
    if stat.S_ISDIR(mode):  # only a symbolic link reaches here: real folders are walked
        target, parent = absolute(path), absolute(path.parent)
        shown = printable(target.as_posix())
        if target == parent or target in parent.parents:
            return Skip(name, f"symbolic link loop: points back to {shown}, not followed")
        return Skip(name, f"symbolic link to a folder ({shown}), not followed: give that folder as PATH to embed it")
    return Skip(name, f"not a regular file: {kind_of(mode)}")


def _unreachable(path: Path, exc: OSError) -> str:
    """Why `stat` failed on `path`, in the words a person looks for."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, FileNotFoundError):
        if path.is_symlink():
            return f"broken symbolic link (points to {printable(os.readlink(path))}, which does not exist)"
        return "no such file or folder"
    return f"cannot read it ({exc.strerror or exc})"


def kind_of(mode: int) -> str:
    """What a file of `mode` is, in words: a folder, a named pipe, a device, a socket."""
    return _KINDS.get(stat.S_IFMT(mode), "a special file")


def _once(entries: Iterator[Path | Skip]) -> Iterator[Path | Skip]:
    """Each file once, however many links and glob matches reach it."""
    seen: set[Path] = set()
    for entry in entries:
        if isinstance(entry, Path):
            if entry in seen:
                continue
            seen.add(entry)
        yield entry
