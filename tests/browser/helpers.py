"""What the browser journeys share: the server handle, screenshots, axe-core, signing in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "bench-out" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TOKEN = "browser-test-token"


class Server:
    """The running `dibs serve`: its address and a client of its API."""

    def __init__(self, url: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.process = process
        self.api = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    def orders(self, **params: str) -> list[dict[str, Any]]:
        """Every order the API lists with these filters (following the cursor)."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**params, "limit": "500", **({"cursor": cursor} if cursor else {})}
            page = self.api.get("/api/v1/orders", params=query).json()
            found += page["orders"]
            cursor = page["next"]
            if not cursor:
                return found

    def order(self, oid: str) -> dict[str, Any]:
        doc: dict[str, Any] = self.api.get(f"/api/v1/orders/{oid}").json()
        return doc

    def stock(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.api.get("/api/v1/inventory").json()
        return rows


def shoot(page: Any, name: str) -> None:
    """A full-page screenshot under bench-out/screenshots/ (CI keeps the work tree)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def check_axe(page: Any, name: str, report: dict[str, Any]) -> None:
    """Run axe-core in the page; record every finding and fail on serious or critical ones."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    found = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]
    report[name] = found
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on {name}: " + json.dumps(bad, indent=2)


def sign_in(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
