"""revkv.http._protocol: the file-descriptor limit raised at start-up (the connection
limits themselves are tested against a real server in tests/integration)."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap

import pytest

from revkv.http._protocol import RESERVED_FDS

SOFT, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)


def limit_in_child(soft: int, hard: int, max_connections: int) -> tuple[int, int, int]:
    """In a child with the given limits: (soft after, hard after, connections allowed)."""
    code = textwrap.dedent(
        f"""
        import resource
        from revkv.http._protocol import raise_fd_limit
        resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))
        allowed = raise_fd_limit({max_connections})
        print(*resource.getrlimit(resource.RLIMIT_NOFILE), allowed)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout
    after_soft, after_hard, allowed = map(int, out.split())
    return after_soft, after_hard, allowed


@pytest.mark.skipif(HARD == resource.RLIM_INFINITY or HARD < 1024, reason="a finite hard limit")
def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    assert limit_in_child(256, HARD, 100) == (HARD, HARD, 100)


def test_max_connections_stays_below_what_the_process_may_open() -> None:
    hard = min(HARD, 300) if HARD != resource.RLIM_INFINITY else 300
    assert limit_in_child(hard, hard, 10_000) == (hard, hard, hard - RESERVED_FDS)
