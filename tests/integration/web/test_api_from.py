"""`from`, the warehouses to reserve in (the CLI's `allocate|reallocate|explain --from`), on the
API: `POST /allocate` and `POST /orders/{id}/reallocate` take it in the body, `GET
/orders/{id}/explain` in the query. It had none, so an API caller could only reserve in each
order's own warehouse. Checked by the same check as the CLI's: an unknown, repeated or blank
name is 400 with field `from`, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import snapshot
from tests.integration.web.conftest import Api, error_of, order


def _stocked(api: Api) -> None:
    """A in east (2) and west (5); none in main, the orders' own warehouse."""
    for wh, qty in (("east", 2), ("west", 5), ("main", 0)):
        put = api.put("/api/v1/inventory/A", json={"on_hand": qty, "warehouse": wh})
        assert put.status_code == 200, put.text


def _reserved_in(api: Api, oid: str) -> dict[str, int]:
    where: dict[str, int] = api.get(f"/api/v1/orders/{oid}").json()["lines"][0]["warehouses"]
    return where


def test_allocate_from_reserves_in_the_listed_warehouses_in_order(api: Api) -> None:
    _stocked(api)
    api.add(order("O1", ("A", 2)), order("O2", ("A", 3)), order("O3", ("A", 1)))
    assert api.post("/api/v1/allocate", json={"ids": ["O3"]}).json()["results"] == [
        {"id": "O3", "before": "unallocated", "after": "could_not_allocate"}
    ]
    answer = api.post("/api/v1/allocate", json={"ids": ["O1"], "from": ["east", "west"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == [{"id": "O1", "before": "unallocated", "after": "allocated"}]
    assert _reserved_in(api, "O1") == {"east": 2}
    # As `--from west,east` writes it: one comma-separated string, trimmed.
    answer = api.post("/api/v1/allocate", json={"all": True, "from": " west , east"})
    assert answer.status_code == 200, answer.text
    assert _reserved_in(api, "O2") == {"west": 3} and _reserved_in(api, "O3") == {"west": 1}


def test_a_dry_run_with_from_writes_nothing(api: Api) -> None:
    _stocked(api)
    api.add(order("O1", ("A", 2)))
    before = snapshot(api.store)
    body = {"ids": ["O1"], "from": ["west"], "dry_run": True}
    answer = api.post("/api/v1/allocate", json=body).json()
    assert answer["results"][0]["after"] == "allocated" and answer["dry_run"] is True
    assert snapshot(api.store) == before


def test_reallocate_from_moves_the_reservation(api: Api) -> None:
    _stocked(api)
    api.add(order("O1", ("A", 2)))
    api.post("/api/v1/allocate", json={"ids": ["O1"], "from": ["east"]})
    answer = api.post("/api/v1/orders/O1/reallocate", json={"from": ["west"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["after"] == "allocated"
    assert _reserved_in(api, "O1") == {"west": 2}


def test_explain_from_explains_against_the_listed_warehouses(api: Api) -> None:
    _stocked(api)
    api.add(order("O1", ("A", 3)))
    plain = api.get("/api/v1/orders/O1/explain").json()
    assert [w["warehouse"] for w in plain["warehouses"]] == ["main"]
    doc = api.get("/api/v1/orders/O1/explain", params={"from": "east,west"}).json()
    assert [(w["warehouse"], w["complete"]) for w in doc["warehouses"]] == [
        ("east", False),
        ("west", True),
    ]
    # One value, comma-separated, as every query parameter of the API takes its list.
    twice = error_of(api.get("/api/v1/orders/O1/explain?from=east&from=west"), 400)
    assert twice["field"] == "from" and "given 2 times" in twice["message"]


_BAD_FROM: list[tuple[Any, str]] = [
    (["east", "nowhere"], "from: no stock row exists in warehouse 'nowhere'"),
    ("nowhere", "from: no stock row exists in warehouse 'nowhere'"),
    (["east", "east"], "from: warehouse 'east' is listed twice"),
    ("east,east", "from: warehouse 'east' is listed twice"),
    ([], "from: give warehouse names separated by commas"),
    ("", "from: give warehouse names separated by commas"),
    (["east", " "], "from: give warehouse names separated by commas"),
    ("east,", "from: give warehouse names separated by commas"),
]


@pytest.mark.parametrize(("names", "message"), _BAD_FROM)
def test_a_bad_from_is_400_naming_from_and_writes_nothing(
    api: Api, names: Any, message: str
) -> None:
    _stocked(api)
    api.add(order("O1", ("A", 2)))
    api.post("/api/v1/allocate", json={"ids": ["O1"]})
    before = snapshot(api.store)
    for path, body in (
        ("/api/v1/allocate", {"ids": ["O1"], "from": names}),
        ("/api/v1/allocate", {"all": True, "from": names}),
        ("/api/v1/orders/O1/reallocate", {"from": names}),
    ):
        error = error_of(api.post(path, json=body), 400)
        assert error["field"] == "from" and error["message"].startswith(message), error
        assert "--from" not in error["message"]
    query = ",".join(names) if isinstance(names, list) else names
    error = error_of(api.get("/api/v1/orders/O1/explain", params={"from": query}), 400)
    assert error["field"] == "from" and error["message"].startswith(message), error
    assert snapshot(api.store) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ids": ["O1"], "from": 5}, "from: must be a list of warehouse names"),
        ({"ids": ["O1"], "from": [1]}, "from: must be a list of warehouse names"),
        ({"ids": ["O1"], "form": ["east"]}, "unknown key 'form'; did you mean 'from'?"),
        ({"ids": ["O1"], "from_": ["east"]}, "unknown key 'from_'; did you mean 'from'?"),
    ],
)
def test_a_from_of_the_wrong_kind_is_400(api: Api, body: dict[str, Any], message: str) -> None:
    _stocked(api)
    api.add(order("O1", ("A", 2)))
    before = snapshot(api.store)
    error = error_of(api.post("/api/v1/allocate", json=body), 400)
    assert message in error["message"], error
    assert error["field"] in ("from", "form", "from_")
    assert snapshot(api.store) == before


def test_explain_of_an_unknown_order_is_404_whatever_from_says(api: Api) -> None:
    """As `dibs explain NOPE --from nowhere`: the order is looked up first (exit 1)."""
    _stocked(api)
    error_of(api.get("/api/v1/orders/NOPE/explain", params={"from": "nowhere"}), 404)
