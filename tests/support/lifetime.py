"""Children of the test run die with it (Linux parent-death signal), so a pytest killed by
a timeout or Ctrl-C leaves no worker, server or agent behind to disturb the next run."""

from __future__ import annotations

import signal


def die_with_parent() -> None:
    """`preexec_fn` for every child process a test starts: SIGKILL when pytest dies."""
    from billiard.util import set_pdeathsig

    set_pdeathsig(signal.SIGKILL)
