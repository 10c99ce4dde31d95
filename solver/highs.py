"""HiGHS instances that print nothing unless asked to."""

from __future__ import annotations

import contextlib
import os
import sys

import highspy

_banner_taken = False


def new_highs() -> highspy.Highs:
    """A ``highspy.Highs`` with its output off.

    The first Highs a process makes prints HiGHS's banner (name, version, licence) to file descriptor 1 as it is
    constructed, before any option can turn output off; ``sys.stdout`` redirections do not see it. That one
    construction runs with descriptor 1 pointed at the null device, so ``--quiet`` is quiet and no banner lands
    between a progress bar's lines."""
    global _banner_taken
    if _banner_taken:
        highs = highspy.Highs()
    else:
        with _stdout_to_null():
            highs = highspy.Highs()
        _banner_taken = True
    highs.setOptionValue("output_flag", False)
    return highs


@contextlib.contextmanager
def _stdout_to_null():
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
