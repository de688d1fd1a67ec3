"""A tool's child process dies with the server that started it (a SIGKILL leaves nothing
writing on)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.quantize.conftest import wait_for

PARENT = """
import subprocess, sys, time
from app.services.quantize.service import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                         preexec_fn=die_with_parent)
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
def test_the_child_is_killed_when_its_parent_is():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_for(lambda: not _alive(child), timeout=5, what="the child to die")
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
