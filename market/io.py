"""The one way emg writes what a user reads: atomic files and atomic folders.

A file is written to a temporary file in the same folder, flushed to disk and
moved into place with :func:`os.replace`, so an interrupted run leaves either
the previous file or the complete new one, never a half-written file
(:func:`atomic_write_bytes`; the compiler's artifact cache uses it too).

An output folder (``emg solve --out``, ``emg simulate --out``) is written the
same way one level up (:func:`atomic_folder`): the whole set of files goes
into a hidden temporary sibling ``.NAME.emg-PID-XXXX.tmp`` and that folder is
swapped into place when every file is complete, so ``--out`` always holds one
complete run, the old one or the new one, never a mix. Temporaries that a
killed run left behind are removed by the next run into the same folder.
:func:`check_out_dir` checks the folder before any work starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from market.errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + ``os.replace``).

    ``sync=False`` skips the ``fsync``: the file is still never seen half-written
    by a reader or after the writing process dies, but a power failure may lose it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a finished file gets the usual mode
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, sync: bool = True) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically (``sync`` as above)."""
    atomic_write_bytes(path, text.encode("utf-8"), sync=sync)


# ----------------------------------------------------------------------------- folders

#: what a temporary output folder is called: ``.{name}{TMP_TAG}{pid}-{random}.tmp``
TMP_TAG = ".emg-"


def _is_temporary(name: str) -> bool:
    """A hidden ``.*.tmp`` entry: a temporary file or folder emg writes and renames."""
    return name.startswith(".") and name.endswith(".tmp")


def check_out_dir(path: str | os.PathLike[str], option: str, known: Iterable[str]) -> Path:
    """Check an output folder before any work starts; return it as a :class:`Path`.

    The folder may be new (its parent must exist and be writable) or an
    earlier output folder: it may hold only files named in ``known`` (the
    outputs of emg's commands) and stale temporaries, since writing replaces
    the folder as a whole.

    Raises
    ------
    OutputError
        ``"{option}: ..."``: the path is a file, lies below a file, its parent
        is missing or not writable, or the folder holds other files.
    """
    p = Path(path)
    if not str(path):
        raise OutputError(f"{option}: must be a folder path, got an empty string")
    if p.exists() and not p.is_dir():
        raise OutputError(f"{option}: {p} is a file, not a folder")
    parent = p.absolute().parent
    for up in (parent, *parent.parents):
        if up.exists():
            if not up.is_dir():
                raise OutputError(f"{option}: {p} lies below {up}, which is a file")
            break
    if not parent.is_dir():
        raise OutputError(f"{option}: the parent folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option}: the parent folder {parent} is not writable")
    if p.is_dir():
        if p.absolute() == Path(p.absolute().anchor):
            raise OutputError(f"{option}: {p} is a file system root")
        allowed = set(known)
        try:
            names = sorted(os.listdir(p))
        except OSError as exc:
            raise OutputError(f"{option}: cannot read {p}: {exc.strerror}") from None
        other = [n for n in names if n not in allowed and not _is_temporary(n)]
        if other:
            shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
            raise OutputError(f"{option}: {p} holds files that are not emg outputs ({shown}); "
                              f"it is replaced as a whole: give a new or empty folder")
    return p


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(target: Path) -> list[Path]:
    """Remove the temporary siblings of ``target`` that a killed emg process left.

    A sibling ``.{name}.emg-{pid}-*.tmp`` is removed when process ``pid`` is
    gone (a live run's temporary is left alone). Returns what was removed.
    """
    removed: list[Path] = []
    prefix = f".{target.name}{TMP_TAG}"
    parent = target.absolute().parent
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and _pid_alive(int(pid_text)):
            continue
        stale = parent / name
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                stale.unlink()
        removed.append(stale)
    return removed


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system cannot swap
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], option: str = "--out", *,
                  sync: bool = True) -> Iterator[Path]:
    """Build an output folder in a temporary sibling, then swap it into place.

    Usage::

        with atomic_folder(out) as tmp:
            (tmp / "summary.json").write_text(...)

    Files in ``tmp`` need no atomic writes of their own: nobody sees ``tmp``
    until it is complete. On a normal exit every file in ``tmp`` is flushed to
    disk (unless ``sync=False``: then a power failure may lose them) and ``tmp``
    replaces ``path`` in one step (``renameat2(RENAME_EXCHANGE)`` where the
    file system has it, else two renames, the old folder first moved aside),
    and the previous folder is deleted. On an exception the temporary folder
    is deleted and ``path`` is untouched. Stale temporaries of ``path`` from a
    killed run are removed first.

    Raises
    ------
    OutputError
        The folder could not be written (disk full, permissions...).
    """
    target = Path(path)
    clean_stale(target)
    parent = target.absolute().parent
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_TAG}{os.getpid()}-",
                                    suffix=".tmp", dir=parent))
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700; the folder gets the usual mode
    except OSError as exc:
        raise OutputError(f"{option}: cannot create a folder in {parent}: {exc.strerror}") from None
    try:
        yield tmp
        if sync:
            for entry in tmp.iterdir():
                fd = os.open(entry, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            _fsync_dir(tmp)
        if target.is_dir() and not target.is_symlink():
            if _exchange(tmp, target):  # tmp now holds the previous run
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_TAG}{os.getpid()}-old-",
                                            suffix=".tmp", dir=parent))
                os.rename(target, old / "previous")
                os.rename(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        if sync:
            _fsync_dir(parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{option}: cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
