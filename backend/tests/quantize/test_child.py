"""A tool's child process dies with the server that started it (a SIGKILL leaves nothing
writing on)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.quantize.conftest import wait_for

# A server stand-in: starts a "tool" (a script that sleeps) the way the service starts the
# converter, prints the child's pid, and waits to be killed.
PARENT = """
import os, subprocess, sys, time
from app.services.quantize.child import PARENT_ENV
from app.services.quantize.llama import _CHILD
child = subprocess.Popen([sys.executable, _CHILD, "convert", sys.argv[1]],
                         env={**os.environ, PARENT_ENV: str(os.getpid())})
print(child.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"  # a zombie is dead, waiting for its reaper
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_is_killed_when_its_parent_is(tmp_path: Path):
    tool = tmp_path / "slow_tool.py"
    started = tmp_path / "started"
    tool.write_text(
        f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tool)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        # Past its start-up (a parent gone before that is noticed there, by its pid).
        wait_for(started.exists, timeout=30, what="the tool to run")
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_for(lambda: not _alive(child), timeout=5, what="the child to die")
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
