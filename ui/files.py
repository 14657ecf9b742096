"""Files the page writes (CSV downloads, Gradio's copies of them) live in a folder private to
this process: made at start with mode 0700 under the system temp folder, removed by the next
start once the process is gone (and at a normal interpreter exit; uvicorn re-raises SIGTERM, which
skips exit handlers), and written atomically without ever following a symlink, so another local
user can neither read them nor plant a link where the next one will be written."""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "gov-report-rag-"


def private_dir() -> Path:
    """A new folder only this user may enter (``mkdtemp`` makes it 0700), named after this
    process so that a later start can remove what a killed one left behind."""
    base = Path(tempfile.gettempdir())
    remove_stale(base)
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def remove_stale(base: Path) -> list[Path]:
    """Folders of earlier runs whose process is gone, owned by this user and not symlinks."""
    removed = []
    for entry in base.glob(PREFIX + "*-*"):
        pid = entry.name[len(PREFIX):].split("-", 1)[0]
        try:
            info = os.lstat(entry)
        except OSError:
            continue
        if not (pid.isdigit() and stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()) or _alive(int(pid)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _own_dir(path: Path) -> Path:
    """``path`` as a real folder: whatever else stands there (a planted symlink, a file) is removed first."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)  # a symlink is removed itself, its target untouched
            os.mkdir(path, 0o700)
    return path


def write_private(directory: Path, subdir: str, name: str, data: bytes) -> Path:
    """``directory/subdir/name`` holding ``data``. A regular file already holding it is reused;
    anything else is replaced by one atomic rename of a fresh file, which replaces a planted
    symlink itself rather than writing through it."""
    folder = _own_dir(_own_dir(Path(directory)) / subdir)
    path = folder / name
    try:
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode) and info.st_size == len(data) and path.read_bytes() == data:
            return path
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")  # O_EXCL, mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
