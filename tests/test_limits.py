"""router.limits.raise_fd_limit: the soft open-file limit goes up to the hard one."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest

resource = pytest.importorskip("resource")


def _run(code: str) -> str:
    # in a child: the test process keeps its own limits
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_soft_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 256:
        pytest.skip(f"hard open-file limit {hard} too low to lower the soft one under it")
    out = _run(
        """
        import json, resource
        from router.limits import raise_fd_limit
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
        print(json.dumps([raise_fd_limit(), resource.getrlimit(resource.RLIMIT_NOFILE), hard]))
        """
    )
    returned, (new_soft, new_hard), hard_limit = json.loads(out)
    assert new_hard == hard_limit
    assert new_soft == hard_limit or (hard_limit == resource.RLIM_INFINITY and new_soft > 128)
    assert returned == [128, new_soft]


def test_already_at_the_hard_limit_nothing_changes() -> None:
    out = _run(
        """
        import logging, resource
        from router.limits import raise_fd_limit
        logging.basicConfig(level=logging.DEBUG, format="%(message)s", stream=__import__("sys").stdout)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        before = resource.getrlimit(resource.RLIMIT_NOFILE)
        raise_fd_limit()
        print("same" if resource.getrlimit(resource.RLIMIT_NOFILE) == before else "changed")
        """
    )
    assert "open-file limit" in out and out.endswith("same"), out


def test_a_refused_raise_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    from router import limits

    def refuse(*args: object) -> None:
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "getrlimit", lambda _kind: (64, 4096))
    monkeypatch.setattr(resource, "setrlimit", refuse)
    with caplog.at_level(logging.DEBUG, logger="router.limits"):
        assert limits.raise_fd_limit() == (64, 64)
    assert "cannot raise the open-file limit from 64 to 4096: not allowed" in caplog.text
