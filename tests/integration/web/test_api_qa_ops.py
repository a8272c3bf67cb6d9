"""What a QA pass over the HTTP API found: answers in the shapes of the CLI's `--json`."""

from __future__ import annotations

from tests.helpers import snapshot
from tests.integration.web.conftest import Api, order


def test_a_dry_run_allocation_says_so_as_allocate_dry_run_json_does(api: Api) -> None:
    api.stock("MUG", 1)
    api.add(order("A", ("MUG", 1)))
    before = snapshot(api.store)
    dry = api.post("/api/v1/allocate", json={"ids": ["A"], "dry_run": True}).json()
    assert dry == {
        "results": [{"id": "A", "before": "unallocated", "after": "allocated"}],
        "skipped": [],
        "dry_run": True,
    }
    assert snapshot(api.store) == before
    real = api.post("/api/v1/allocate", json={"ids": ["A"]}).json()
    assert "dry_run" not in real and real["results"] == dry["results"]


def test_the_inventory_listing_trims_its_sku_as_the_stock_requests_do(api: Api) -> None:
    api.stock("MUG", 3)
    mug = [{"sku": "MUG", "warehouse": "main", "on_hand": 3, "allocated": 0, "available": 3}]
    assert api.get("/api/v1/inventory", params={"sku": " MUG "}).json() == mug
    assert api.get("/api/v1/inventory", params={"sku": "MUG"}).json() == mug
