"""Atomic writes: every output appears whole or not at all.

A stage writes into a temporary sibling path and renames it into place, so a stage killed
midway never leaves a file or folder that DVC (or the next stage) would accept.

Temporary paths are named ``.<target name>.<pid>.<random>.tmp``. SIGTERM while one is open
becomes SystemExit, so the temporary path is removed on the way out; after a SIGKILL it stays,
and the next write of the same target removes it (only when the process that made it is gone).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    Works for files and folders: the caller creates whatever it likes at the yielded path.
    On any exception the temporary path is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent))
    shutil.rmtree(tmp)  # the caller decides whether it is a file or a folder
    try:
        with _sigterm_as_exit():
            yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp} for {target}")
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def temporaries(target: str | Path) -> list[Path]:
    """Temporary siblings of ``target`` made by :func:`atomic_path` (this process's or others')."""
    target = Path(target)
    return sorted(target.parent.glob(f".{glob_escape(target.name)}.*.tmp"))


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove temporary siblings of ``target`` left by processes that no longer run (SIGKILL)."""
    removed = []
    for path in temporaries(target):
        pid = path.name[len(Path(target).name) + 2:].split(".", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_on_sigterm(signum, frame) -> None:  # noqa: ARG001
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """While a temporary path is open, SIGTERM raises SystemExit so ``finally`` cleans up.

    Only where Python's default (kill at once) would apply: main thread, no handler installed.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def write_json(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as pretty, key-sorted JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_parquet(path: str | Path, frame: "pd.DataFrame") -> None:  # noqa: F821
    """Write a DataFrame to parquet atomically (no index)."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(path: str | Path, frame: "pd.DataFrame") -> None:  # noqa: F821
    """Write a DataFrame to CSV atomically (no index)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays sneak into metrics dicts; make them plain JSON.
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
