"""Shopify's order export (CSV) -> native order mappings, per SPEC §9."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from engine.io.channels import ChannelError, ChannelRead, Skipped, read_shopify_csv

#: The header of a real Shopify order export, as downloaded.
HEADER_LINE = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,"
    "Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,"
    "Payment Method,Payment Reference,Refunded Amount,Vendor,Id,Tags,Risk Level,Source,"
    "Lineitem discount,Tax 1 Name,Tax 1 Value,Phone,Receipt Number"
)
HEADER = HEADER_LINE.split(",")


def export(*rows: dict[str, str], header: list[str] = HEADER, newline: str = "\r\n") -> str:
    """A Shopify export with the given cells (every other cell blank)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator=newline)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def first_row(**cells: str) -> dict[str, str]:
    row = {
        "Name": "#1001",
        "Created at": "2026-03-02 09:15:00 -0500",
        "Lineitem quantity": "1",
        "Lineitem sku": "MUG-12OZ",
        "Lineitem requires shipping": "true",
    }
    row.update(cells)
    return row


def problems_of(data: str | bytes, name: str = "export.csv") -> list[str]:
    with pytest.raises(ChannelError) as caught:
        read_shopify_csv(data, name)
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture
def recorded(fixtures: Path) -> ChannelRead:
    path = fixtures / "shopify_orders_export.csv"
    return read_shopify_csv(path.read_bytes(), "shopify_orders_export.csv")


def test_the_recorded_export_maps_field_by_field(recorded: ChannelRead, native_check: Any) -> None:
    by_id = {order.id: order for order in recorded.orders}
    assert list(by_id) == ["#1001", "#1002", "#1003"]
    first = by_id["#1001"]
    assert first.mapping == {
        "id": "#1001",
        "channel": "shopify",
        "placed_at": "2026-03-02T14:15:00+00:00",
        "ship_to": {
            "name": "Bob Norman",
            "country": "US",
            "state": "MA",
            "city": "Boston",
            "postal_code": "02134",  # the export's leading apostrophe is gone
        },
        "shipping_method": "Standard Shipping",
        "total": "199.00",
        "tags": ["vip", "Wholesale"],
        "attributes": {"shopify_id": "5678901234567"},
        "lines": [{"sku": "MUG-12OZ", "qty": 2}, {"sku": "BLANKET-GRY", "qty": 1}],
    }
    assert first.status == "awaiting_fulfillment"
    assert first.updated_at is None  # the export has no such column
    assert first.where == "shopify_orders_export.csv:2"
    for order in recorded.orders:
        native_check(order.mapping)


def test_the_recorded_export_statuses_and_places(recorded: ChannelRead) -> None:
    # #1001's notes hold a newline, so its first row spans lines 2-3 and #1002 starts on 6.
    assert [(o.id, o.status, o.where) for o in recorded.orders] == [
        ("#1001", "awaiting_fulfillment", "shopify_orders_export.csv:2"),
        ("#1002", "shipped", "shopify_orders_export.csv:6"),
        ("#1003", "cancelled", "shopify_orders_export.csv:7"),
    ]
    assert recorded.orders[1].mapping["ship_to"]["name"] == "Chloé Tremblay"
    assert "tags" not in recorded.orders[1].mapping


def test_a_gift_card_only_order_is_skipped(recorded: ChannelRead) -> None:
    assert recorded.skipped == (
        Skipped(
            "shopify_orders_export.csv:8",
            "#1004",
            "has nothing to ship (none of its 1 line item requires shipping)",
        ),
    )


def test_unix_line_endings_text_input_and_no_bom_read_the_same(fixtures: Path) -> None:
    raw = (fixtures / "shopify_orders_export.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the fixture is as downloaded
    unix = raw.decode("utf-8-sig").replace("\r\n", "\n")
    assert read_shopify_csv(unix, "a.csv").orders == read_shopify_csv(raw, "a.csv").orders


def test_notes_with_newlines_and_commas_do_not_split_rows() -> None:
    data = export(
        first_row(Notes='Leave it by the door, "please".\r\nRing twice,\nthanks'),
        first_row(Name="#1002", **{"Lineitem sku": "SOCK"}),
    )
    result = read_shopify_csv(data, "e.csv")
    assert [(o.id, o.where) for o in result.orders] == [("#1001", "e.csv:2"), ("#1002", "e.csv:5")]


def test_rows_belong_together_by_name_even_when_apart() -> None:
    data = export(
        first_row(),
        first_row(Name="#1002", **{"Lineitem sku": "SOCK"}),
        {"Name": "#1001", "Lineitem quantity": "3", "Lineitem sku": "BOTTLE"},
    )
    [one, two] = read_shopify_csv(data, "e.csv").orders
    assert one.mapping["lines"] == [{"sku": "MUG-12OZ", "qty": 1}, {"sku": "BOTTLE", "qty": 3}]
    assert two.mapping["lines"] == [{"sku": "SOCK", "qty": 1}]


AGAIN = (
    "appears twice in the file (first at e.csv:2): the same export appended twice, or two "
    "shops' orders of one name? import each shop's export on its own, with its own --channel"
)


def test_the_same_export_twice_in_one_file_is_refused_not_doubled() -> None:
    """An order's first row (the one with `Created at`) again after other orders is the same
    order a second time: merged, every line would count twice and reserve twice the stock."""
    rows = (
        first_row(Id="1"),
        {"Name": "#1001", "Lineitem quantity": "2", "Lineitem sku": "BOTTLE"},
        first_row(Name="#1002", Id="2"),
    )
    assert problems_of(export(*rows, *rows), "e.csv") == [
        f"e.csv:5: order '#1001': {AGAIN}",
        "e.csv:7: order '#1002': appears twice in the file (first at e.csv:4): the same export "
        "appended twice, or two shops' orders of one name? import each shop's export on its "
        "own, with its own --channel",
    ]


def test_two_shops_orders_of_one_name_are_refused_not_merged() -> None:
    data = export(
        first_row(Id="5001", **{"Shipping Name": "Ann"}),
        first_row(Id="9001", **{"Shipping Name": "Zed", "Lineitem sku": "HOODIE"}),
    )
    assert problems_of(data, "e.csv") == [f"e.csv:3: order '#1001': {AGAIN}"]


def test_an_order_whose_rows_all_repeat_its_order_columns_is_one_order() -> None:
    """A spreadsheet's fill-down repeats `Created at` on every row of an order: still one."""
    data = export(first_row(Id="1"), first_row(Id="1", **{"Lineitem sku": "BOTTLE"}))
    [one] = read_shopify_csv(data, "e.csv").orders
    assert [line["sku"] for line in one.mapping["lines"]] == ["MUG-12OZ", "BOTTLE"]


def test_order_columns_come_from_the_first_row_that_fills_them() -> None:
    data = export(
        first_row(Total="10.00"),
        {
            "Name": "#1001",
            "Lineitem quantity": "1",
            "Lineitem sku": "B",
            "Total": "99.00",
            "Shipping Method": "Express",
        },
    )
    mapping = read_shopify_csv(data, "e.csv").orders[0].mapping
    assert mapping["total"] == "10.00"
    assert mapping["shipping_method"] == "Express"


def test_unknown_columns_are_ignored_and_header_case_does_not_matter() -> None:
    header = ["name", "Created At", "Lineitem SKU", "Lineitem Quantity", "Gift Wrap", "Id"]
    data = export(
        {
            "name": "#7",
            "Created At": "2026-03-02T10:00:00Z",
            "Lineitem SKU": "MUG",
            "Lineitem Quantity": "2",
            "Gift Wrap": "yes, please",
            "Id": "42",
        },
        header=header,
    )
    [order] = read_shopify_csv(data, "e.csv").orders
    assert order.mapping == {
        "id": "#7",
        "channel": "shopify",
        "placed_at": "2026-03-02T10:00:00+00:00",
        "attributes": {"shopify_id": "42"},
        "lines": [{"sku": "MUG", "qty": 2}],
    }


@pytest.mark.parametrize(
    ("cells", "status"),
    [
        ({"Fulfillment Status": "fulfilled"}, "shipped"),
        ({"Fulfillment Status": "Fulfilled"}, "shipped"),
        ({"Fulfillment Status": "partial"}, "awaiting_fulfillment"),
        ({"Fulfillment Status": "unfulfilled"}, "awaiting_fulfillment"),
        (
            {"Cancelled at": "2026-03-04 10:00:00 -0500", "Fulfillment Status": "fulfilled"},
            "cancelled",
        ),
    ],
)
def test_status_columns(cells: dict[str, str], status: str) -> None:
    assert read_shopify_csv(export(first_row(**cells)), "e.csv").orders[0].status == status


def test_a_line_item_needing_shipping_without_a_sku_is_a_problem_on_its_row() -> None:
    data = export(
        first_row(),
        {
            "Name": "#1001",
            "Lineitem quantity": "1",
            "Lineitem name": "Poster",
            "Lineitem sku": "",
            "Lineitem requires shipping": "true",
        },
        {
            "Name": "#1001",
            "Lineitem quantity": "1",
            "Lineitem name": "E-book",
            "Lineitem sku": "",
            "Lineitem requires shipping": "false",
        },
    )
    assert problems_of(data) == [
        "export.csv:3: order '#1001': Lineitem sku is missing: the item 'Poster' requires "
        "shipping, so it needs a SKU to reserve stock for: give the variant a SKU in Shopify, "
        "or mark it as not a physical product"
    ]


def test_every_problem_is_listed_with_its_line() -> None:
    data = export(
        first_row(**{"Lineitem quantity": "two"}),
        {"Name": "", "Lineitem quantity": "1", "Lineitem sku": "X"},
        first_row(
            Name="#1002",
            Total="12,50",
            **{"Shipping Country": "Deutschland", "Created at": "02/03/2026"},
        ),
        first_row(Name="#1003", **{"Lineitem requires shipping": "maybe"}),
    )
    assert problems_of(data) == [
        "export.csv:3: Name is required (the order's name, e.g. #1001)",
        "export.csv:2: order '#1001': Lineitem quantity must be a positive integer, got 'two'",
        "export.csv:4: order '#1002': Created at must be an ISO-8601 timestamp such as "
        "2026-03-02T09:15:00-05:00, got '02/03/2026'",
        "export.csv:4: order '#1002': Total must be a decimal amount such as \"19.99\", "
        "got '12,50'",
        "export.csv:4: order '#1002': Shipping Country must be a two-letter country code such "
        "as US or DE, got 'Deutschland'",
        "export.csv:5: order '#1003': Lineitem requires shipping must be true or false, "
        "got 'maybe'",
    ]


def test_a_missing_created_at_is_a_problem() -> None:
    assert problems_of(export(first_row(**{"Created at": ""}))) == [
        "export.csv:2: order '#1001': Created at is required"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "",
            "export.csv:1: is empty: expected the Shopify export header "
            "(Name,Email,Financial Status,...)",
        ),
        (
            "Name,Email\n#1,a@b\n",
            "export.csv:1: is missing the columns Created at, "
            "Lineitem quantity, Lineitem sku of a Shopify order export",
        ),
        (
            b"Name,Created at,Lineitem quantity,Lineitem sku\n#1,2026-03-02,1,caf\xe9\n",
            "export.csv:2:20: is not UTF-8 text (invalid continuation byte, byte 0xe9); save the "
            "file as UTF-8",
        ),
    ],
    ids=["empty", "not-shopify", "latin-1"],
)
def test_unreadable_files_are_one_clear_problem(data: str | bytes, message: str) -> None:
    assert problems_of(data) == [message]


def test_an_enormous_cell_is_a_problem_not_a_crash() -> None:
    data = export(first_row(Notes="x" * 300_000))
    [problem] = problems_of(data)
    assert problem == "export.csv:2: is not readable CSV: a cell is longer than 131,072 characters"


def test_blank_rows_and_rows_without_a_line_item_are_skipped() -> None:
    data = export(first_row(), {}, {"Name": "#1001", "Email": "a@example.com"})
    [order] = read_shopify_csv(data, "e.csv").orders
    assert order.mapping["lines"] == [{"sku": "MUG-12OZ", "qty": 1}]


def test_the_same_sku_twice_stays_two_lines() -> None:
    data = export(
        first_row(), {"Name": "#1001", "Lineitem quantity": "2", "Lineitem sku": "MUG-12OZ"}
    )
    lines = read_shopify_csv(data, "e.csv").orders[0].mapping["lines"]
    assert lines == [{"sku": "MUG-12OZ", "qty": 1}, {"sku": "MUG-12OZ", "qty": 2}]


def test_an_export_cut_inside_a_quoted_cell_is_refused(fixtures: Path) -> None:
    """A download cut short inside the Note of an order (`"Please leave` and nothing after):
    the rest of the file read as one cell, so the orders after it vanished without a word."""
    raw = (fixtures / "shopify_orders_export.csv").read_text(encoding="utf-8-sig")
    cut = raw[: raw.index('"Please leave') + len('"Please leave')]
    assert problems_of(cut) == [
        'export.csv:2: is not readable CSV: a quoted cell (") is never closed; it runs to the '
        "end of the file"
    ]
