"""The readers-writer lock that `make test`'s workers share (see tests/conftest.py): every test
holds it shared, a test marked ``alone`` holds it alone. Kept apart from conftest so that a
process can take it without importing pytest (tests/test_side_by_side.py starts such holders).
"""

import contextlib
import fcntl
import os
from pathlib import Path


def _lock_files():
    folder = Path(os.environ["LLMLAB_TEST_LOCKS"])
    return folder / "turnstile", folder / "room"


@contextlib.contextmanager
def _flocked(path, mode):
    """``path`` held with ``fcntl.flock(mode)`` for the block (closing the file unlocks it)."""
    with open(path, "a") as f:
        fcntl.flock(f, mode)
        yield


@contextlib.contextmanager
def shared():
    turnstile, room = _lock_files()
    with contextlib.ExitStack() as held:
        with _flocked(turnstile, fcntl.LOCK_EX):  # waits while an `alone` section holds it
            held.enter_context(_flocked(room, fcntl.LOCK_SH))
        yield


@contextlib.contextmanager
def run_alone():
    """No other test runs inside this block (it waits for those in progress to end)."""
    turnstile, room = _lock_files()
    with _flocked(turnstile, fcntl.LOCK_EX), _flocked(room, fcntl.LOCK_EX):
        yield
