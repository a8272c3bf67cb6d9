"""Real-browser tests of the dashboard: Playwright for Python driving Debian's Chromium against a
real `dibs serve` subprocess (SPEC §11).

The browser is the system's `/usr/bin/chromium` (or `$DIBS_CHROMIUM`), never one Playwright
downloads. Without it the tests fail when `CI` is set (the CI machine must have it; `.ci/run`
installs it) and are skipped locally, saying why. The server listens on 127.0.0.1 on a free
port, with `DIBS_API_TOKEN` set, a temporary SQLite database seeded from examples/ and
`--rules examples/rules.yaml` ticking every second; the fixture stops it at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.helpers import SHOTS, TOKEN, Server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CHROMIUM = os.environ.get("DIBS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_chromium() -> None:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason + "; CI must run the browser tests", pytrace=False)
    pytest.skip(reason + "; the browser tests need it (they fail instead of skipping in CI)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments: Debian's Chromium, never a downloaded one."""
    _need_chromium()
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DIBS_DB"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["DIBS_API_TOKEN"] = TOKEN
    return env


def _dibs(db: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "--db", db, *args],
        cwd=ROOT,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _need_chromium()
    where = tmp_path_factory.mktemp("dashboard")
    db = f"sqlite:///{where / 'shop.db'}"
    _dibs(db, "inventory", "import", str(EXAMPLES / "inventory.csv"))
    _dibs(db, "orders", "import", str(EXAMPLES / "orders.json"))
    _dibs(db, "orders", "import", str(EXAMPLES / "orders.csv"))
    port = _free_port()
    log = (where / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "--db",
            db,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--rules",
            str(EXAMPLES / "rules.yaml"),
            "--tick",
            "1",
        ],
        cwd=ROOT,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_first_tick(url, process, where / "serve.log")
        srv = Server(url, process)
        yield srv
        srv.api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_first_tick(url: str, process: subprocess.Popen[str], log: Path) -> None:
    """Until the server answers and its first tick (the seeded orders' events) is done."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dibs serve exited {process.returncode}:\n{log.read_text()}")
        try:
            health = httpx.get(f"{url}/api/v1/health", timeout=2).json()
            if health.get("last_tick") and health.get("pending_events") == 0:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"dibs serve did not become ready:\n{log.read_text()}")


@pytest.fixture(scope="session")
def axe_report() -> Iterator[dict[str, Any]]:
    """Every page's axe-core findings, written to bench-out/axe-report.json at the end."""
    report: dict[str, Any] = {}
    yield report
    SHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SHOTS.parent / "axe-report.json").write_text(json.dumps(report, indent=2))
