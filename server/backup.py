"""Backups that cannot hurt, restores that keep what they replace, and the daily backup.

A backup is made with SQLite's online backup API on a connection of its own, so it works
while a server runs on the store (which never waits for it). It is written to a temporary file
in the target folder, checked (SQLite's integrity check) and only then renamed into place:
whatever goes wrong, the target is either the old file or a complete, checked copy, and the
store's content is only ever read.

Refused before anything is written: a target that is the live store or one of its files
(however it is named: through `..`, a symlink, a hard link), a target folder that does not
exist (an unplugged USB stick must not "succeed" onto the server's own disk), and an existing
file unless `force` is given.

The copy carries a new epoch (restoring it starts another timeline) and a `backup` row in its
`meta` table saying when, from where and of which kind it was made; the daily backup deletes
only files that carry its own mark.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path

from server.storefile import (
    belongs_to_store,
    connect,
    epoch_of,
    fsync_file,
    fsync_folder,
    open_quietly,
    problem_with,
    same_file,
    sqlite_problem,
)
from shared.timeutil import from_iso, to_iso

log = logging.getLogger("roomrack.backup")

DAILY_RETRY = timedelta(hours=1)  # after a failed daily backup, try again this much later


class BackupError(Exception):
    """A backup or restore was refused or failed; the message says why, and that nothing
    was changed."""


@dataclass(frozen=True)
class BackupMade:
    path: Path
    size: int
    epoch: str  # the copy's (new) epoch
    made_at: datetime
    same_disk: bool  # the copy is on the store's own disk: it does not survive a disk failure

    @property
    def size_words(self) -> str:
        return human_size(self.size)


@dataclass(frozen=True)
class RestoreDone:
    backup_epoch: str
    epoch: str  # the restored store's new epoch
    kept_aside: Path | None  # where the store that was replaced is now
    made_at: str | None  # when the backup was made, if it says


def human_size(size: int) -> str:
    """'812 bytes', '14.2 KB', '3.1 MB' (powers of 1000)."""
    if size < 1000:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def dated_name(stem: str, local: datetime, kind: str = "manual") -> str:
    """The file name a backup gets in a folder: 'roomrack-2026-01-15-093012.db' (manual) or
    'roomrack-daily-2026-01-15-0400.db' (the daily backup), in the server's local time."""
    if kind == "daily":
        return f"{stem}-daily-{local:%Y-%m-%d-%H%M}.db"
    return f"{stem}-{local:%Y-%m-%d-%H%M%S}.db"


def backup_target(db_path: Path, target: str | Path, now: datetime) -> Path:
    """The file a backup to `target` writes: `target` itself, or a dated file in it when it
    is a folder. Raises BackupError if the folder is missing or the file belongs to the store.
    `now` is aware; the dated name uses the server's local time."""
    text = str(target)
    target = Path(target)
    if target.is_dir():
        target = target / dated_name(db_path.stem, now.astimezone())
    elif text.endswith(("/", os.sep)):  # meant as a folder
        if belongs_to_store(target, db_path):
            raise _live_store(target)
        raise _no_folder(target)
    if not target.parent.is_dir():
        raise _no_folder(target.parent)
    if belongs_to_store(target, db_path):
        raise _live_store(target)
    return target


def _no_folder(folder: Path) -> BackupError:
    if folder.exists():
        return BackupError(f"{folder} is not a folder. Nothing was written.")
    return BackupError(
        f"The folder {folder} does not exist (is the USB stick or network drive plugged in "
        "and mounted?). Nothing was written; no folder was created."
    )


def _live_store(target: Path) -> BackupError:
    return BackupError(
        f"{target} is the live store (or one of its files), not a place for a backup of it. "
        "Give a file or folder elsewhere, e.g. on a USB stick. Nothing was written."
    )


def backup_store(
    db_path: Path,
    target: str | Path,
    now: datetime,
    force: bool = False,
    kind: str = "manual",
) -> BackupMade:
    """Copy the store at `db_path` to `target` (a file, or a folder for a dated file), safely:
    see the module's docstring. Only reads the store's content (a connection of its own,
    which SQLite may use to tidy up the -wal file when no server runs). Raises BackupError
    with the reason."""
    if not db_path.is_file():
        raise BackupError(f"There is no store {db_path}. Nothing was written.")
    final = backup_target(db_path, target, now)
    if final.is_dir():
        raise BackupError(f"{final} is a folder. Nothing was written.")
    if os.path.lexists(final) and not force:
        raise BackupError(
            f"{final} already exists. Give another name, or add --force to replace it. "
            "Nothing was written."
        )
    unmounted = nothing_mounted(final.parent, db_path)
    if unmounted is not None and not force:
        anyway = " (or add --force to back up into it all the same)" if kind == "manual" else ""
        raise BackupError(
            f"{unmounted} Plug the drive in and mount it, then try again{anyway}. "
            "Nothing was written."
        )
    tmp = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        epoch = _copy_checked(db_path, tmp, now, kind)
        _place(tmp, final, force)
        fsync_folder(final.parent)
    except OSError as exc:
        raise BackupError(_os_words(exc, final.parent)) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    same_disk = _device(final.parent) == _device(db_path.parent)
    return BackupMade(final, final.stat().st_size, epoch, now, same_disk)


def _copy_checked(db_path: Path, tmp: Path, now: datetime, kind: str) -> str:
    """Copy the store into the new file `tmp` (online backup), give it a new epoch and the
    backup mark, make it one self-contained file, check it and flush it to disk."""
    try:
        src = connect(db_path, "rw")
    except sqlite3.Error as exc:
        raise BackupError(
            f"The store {db_path} cannot be opened ({exc}). Nothing was written."
        ) from None
    try:
        source_epoch = epoch_of(src)
        if source_epoch is None:
            raise BackupError(
                f"{db_path} cannot be read as a Roomrack store (it is damaged, or another "
                "file). Nothing was written."
            )
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)  # one step: a consistent snapshot, writers go on meanwhile
            epoch = uuid.uuid4().hex
            mark = {
                "kind": kind,
                "made_at": to_iso(now),
                "source": str(db_path.resolve()),
                "source_epoch": source_epoch,
            }
            dst.execute("UPDATE meta SET value = ? WHERE key = 'epoch'", (epoch,))
            dst.execute("INSERT OR REPLACE INTO meta VALUES ('backup', ?)", (json.dumps(mark),))
            dst.commit()
            dst.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
            found = sqlite_problem(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"The copy failed ({exc}). Nothing was written.") from None
    finally:
        src.close()
    if found is not None:
        raise BackupError(
            f'The copy failed its check (SQLite says: "{found}"): the store {db_path} '
            "itself may be damaged. Nothing was written."
        )
    fsync_file(tmp)
    return epoch


def _place(tmp: Path, final: Path, force: bool) -> None:
    """Rename the checked copy into place; without `force` never over an existing file,
    even one that appeared meanwhile (a hard link fails if the name is taken)."""
    if force:
        os.replace(tmp, final)
        return
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise BackupError(
            f"{final} already exists. Give another name, or add --force to replace it. "
            "Nothing was written."
        ) from None
    except OSError:  # a file system without hard links (FAT on USB sticks)
        if os.path.lexists(final):
            raise BackupError(f"{final} already exists. Nothing was written.") from None
        os.replace(tmp, final)


# where drives are mounted (Linux, macOS): a folder there is meant to be another drive
MEDIA_ROOTS = ("/media", "/mnt", "/run/media", "/Volumes")


def nothing_mounted(
    folder: Path, db_path: Path, roots: tuple[str, ...] | None = None
) -> str | None:
    """Words for a folder under a place where drives are mounted (`roots`, MEDIA_ROOTS) that
    is on the store's own disk with nothing mounted on it or on the way to it: the folder an
    fstab entry or a desktop made for a USB stick or network drive that is not there now. A
    backup into it would "succeed" on the server's own disk. None for any other folder."""
    try:
        real = folder.resolve()
    except OSError:
        return None
    tops = [Path(r) for r in (MEDIA_ROOTS if roots is None else roots)]
    top = next((t for t in tops if real != t and t in real.parents), None)
    if top is None:
        return None
    step = real
    while step != top:
        if os.path.ismount(step):
            return None  # a drive is mounted here: the backup goes onto it
        step = step.parent
    if _device(real) != _device(db_path.parent):
        return None
    return (
        f"Nothing is mounted on {folder}: it is a folder of the server's own disk where a "
        "USB stick or network drive is meant to be."
    )


def _device(path: Path) -> int:
    try:
        return path.stat().st_dev
    except OSError:
        return -1


def _os_words(exc: OSError, folder: Path, nothing: str = "Nothing was written.") -> str:
    if exc.errno == errno.ENOSPC:
        return f"There is not enough space in {folder}. {nothing}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"This account may not write in {folder}. {nothing}"
    if exc.errno == errno.EROFS:
        return f"{folder} is read-only. {nothing}"
    return f"Writing in {folder} failed ({exc.strerror or exc}). {nothing}"


# --- restore ---------------------------------------------------------------------------------


def restore_store(backup: Path, db_path: Path, now: datetime) -> RestoreDone:
    """Put the backup in place of the store at `db_path`, which must not be in use (hold its
    `StoreLock`). The backup is checked first (a damaged one is refused, nothing changed); it
    is copied into a temporary file beside the store, given a new epoch (clients that knew the
    store start afresh instead of resuming into events that no longer exist) and checked
    again; the store it replaces is kept aside as `<store>.before-restore-<time>`, never
    deleted. Raises BackupError with the reason."""
    if not backup.is_file():
        raise BackupError(f"There is no backup {backup}. Nothing was changed.")
    if belongs_to_store(backup, db_path):
        raise BackupError(f"{backup} is the store itself, not a backup. Nothing was changed.")
    found = problem_with(backup, "backup")
    if found is not None:
        raise BackupError(f"{found[0].upper()}{found[1:]}. Nothing was changed.")
    if not db_path.parent.is_dir():
        raise BackupError(f"The folder {db_path.parent} does not exist. Nothing was changed.")
    tmp = db_path.parent / f".{db_path.name}.restore-{uuid.uuid4().hex[:8]}.tmp"
    try:
        old_epoch, epoch, made_at = _restore_copy(backup, tmp)
        aside = _keep_aside(db_path, now)
        try:
            os.replace(tmp, db_path)
        except OSError:
            if aside is not None:
                _move_store(aside, db_path)
            raise
        fsync_folder(db_path.parent)
    except OSError as exc:
        raise BackupError(_os_words(exc, db_path.parent, "Nothing was changed.")) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    log.info("restored %s into %s (epoch %s, was %s)", backup, db_path, epoch, old_epoch)
    return RestoreDone(old_epoch, epoch, aside, made_at)


def _restore_copy(backup: Path, tmp: Path) -> tuple[str, str, str | None]:
    try:
        src = open_quietly(backup)
        try:
            dst = sqlite3.connect(str(tmp))
            try:
                src.backup(dst)
                old_epoch = epoch_of(dst) or ""
                mark = dst.execute("SELECT value FROM meta WHERE key = 'backup'").fetchone()
                epoch = uuid.uuid4().hex
                dst.execute("UPDATE meta SET value = ? WHERE key = 'epoch'", (epoch,))
                dst.execute("DELETE FROM meta WHERE key = 'backup'")
                dst.commit()
                dst.execute("PRAGMA journal_mode = DELETE")
                found = sqlite_problem(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(
            f"Reading the backup {backup} failed ({exc}). Nothing was changed."
        ) from None
    if found is not None:
        raise BackupError(f'The backup {backup} is damaged ("{found}"). Nothing was changed.')
    fsync_file(tmp)
    made_at = None
    with contextlib.suppress(ValueError, TypeError, KeyError):
        made_at = str(json.loads(mark[0])["made_at"]) if mark else None
    return old_epoch, epoch, made_at


def _keep_aside(db_path: Path, now: datetime) -> Path | None:
    """Move the store and its -wal/-shm files to `<store>.before-restore-<time>` (as they
    are: a damaged store is not touched, and its journal stays with it)."""
    if not db_path.exists():
        return None
    stamp = now.astimezone().strftime("%Y%m%d-%H%M%S")
    aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
    n = 1
    while os.path.lexists(aside):
        n += 1
        aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}-{n}")
    _move_store(db_path, aside)
    return aside


def _move_store(src: Path, dst: Path) -> None:
    os.rename(src, dst)
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.rename(f"{src}{suffix}", f"{dst}{suffix}")


# --- the daily backup ------------------------------------------------------------------------


def parse_hhmm(text: str) -> time:
    """'04:00' → time(4, 0); ValueError in words otherwise."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"'{text}' is not a time of day like 04:00 (HH:MM, 24-hour clock).")
    return time(int(m[1]), int(m[2]))


@dataclass
class DailyBackup:
    """One backup a day at `at` (local time of `tz`; None: the server PC's own time zone)
    into `folder`, keeping the newest `keep` of the files it made there (it never deletes a
    file it did not make: its files carry its mark and the store's path). A day missed while
    the server was off is caught up as soon as it starts; after a failure it tries again an
    hour later."""

    db_path: Path
    folder: Path
    keep: int = 14
    at: time = time(4, 0)
    tz: tzinfo | None = None
    last_made: datetime | None = None
    failed_at: datetime | None = None

    def check(self, quiet: bool = False) -> None:
        """Refuse a folder that is missing or not writable, and a `keep` below 1; learn when
        the last backup was made; warn (unless `quiet`: the check before the start) of a
        folder on the store's own disk. Raises BackupError."""
        if self.keep < 1:
            raise BackupError("--backup-keep must be 1 or more.")
        if not self.folder.is_dir():
            what = "is not a folder" if self.folder.exists() else "does not exist"
            raise BackupError(
                f"The backup folder {self.folder} {what} (is the drive plugged in and "
                "mounted?). Create it or give another with --backup-dir."
            )
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise BackupError(f"This account may not write in the backup folder {self.folder}.")
        if belongs_to_store(self.folder, self.db_path):
            raise BackupError(f"The backup folder {self.folder} is a file of the store.")
        made = self.ours()
        self.last_made = made[-1][0] if made else None
        unmounted = nothing_mounted(self.folder, self.db_path)
        if not quiet and unmounted is not None:
            log.warning("daily backup: %s Until it is, every daily backup fails.", unmounted)
        elif not quiet and _device(self.folder) == _device(self.db_path.parent):
            log.warning(
                "the daily backups in %s are on the store's own disk: keep copies elsewhere "
                "too (a disk that fails takes both)",
                self.folder,
            )

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz) if self.tz is not None else when.astimezone()

    def last_slot(self, now: datetime) -> datetime:
        """The latest time of day `at` that is not after `now`."""
        local = self.local(now)
        slot = local.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        return slot if slot <= local else slot - timedelta(days=1)

    def due(self, now: datetime) -> bool:
        if self.failed_at is not None and now < self.failed_at + DAILY_RETRY:
            return False
        return self.last_made is None or self.last_made < self.last_slot(now)

    def run(self, now: datetime) -> tuple[BackupMade, list[Path]]:
        """Make today's backup and delete the oldest of ours beyond `keep` (blocking: run it
        off the event loop). Returns the backup and the files removed; raises BackupError."""
        name = dated_name(self.db_path.stem, self.local(now), "daily")
        try:
            made = backup_store(self.db_path, self.folder / name, now, kind="daily")
        except Exception:
            self.failed_at = now
            raise
        self.last_made, self.failed_at = now, None
        return made, self.rotate()

    def rotate(self) -> list[Path]:
        try:
            made = self.ours()
        except BackupError as exc:
            log.warning("daily backup: old backups not removed: %s", exc)
            return []
        removed = []
        for _, path in made[: max(0, len(made) - self.keep)]:
            try:
                path.unlink()
                removed.append(path)
            except OSError as exc:
                log.warning("daily backup: could not remove the old backup %s (%s)", path, exc)
        return removed

    def ours(self) -> list[tuple[datetime, Path]]:
        """The daily backups of this store in the folder, oldest first, with when each was
        made: files named as the daily backup names them whose mark says so."""
        pattern = re.compile(
            rf"{re.escape(self.db_path.stem)}-daily-\d{{4}}-\d{{2}}-\d{{2}}-\d{{4}}\.db"
        )
        found = []
        try:
            names = list(self.folder.iterdir())
        except OSError as exc:
            raise BackupError(
                f"The backup folder {self.folder} cannot be read ({exc.strerror or exc})."
            ) from None
        for path in names:
            if pattern.fullmatch(path.name) and path.is_file() and not path.is_symlink():
                when = self._made_at(path)
                if when is not None:
                    found.append((when, path))
        return sorted(found)

    def _made_at(self, path: Path) -> datetime | None:
        try:
            con = open_quietly(path)
            try:
                row = con.execute("SELECT value FROM meta WHERE key = 'backup'").fetchone()
            finally:
                con.close()
            mark = json.loads(row[0])
            if mark.get("kind") != "daily" or not same_file(Path(mark["source"]), self.db_path):
                return None
            return from_iso(mark["made_at"])
        except (sqlite3.Error, TypeError, ValueError, KeyError):
            return None
