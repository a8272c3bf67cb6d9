"""Reading files and channel records into domain orders and stock rows.

`imports` is the public API (`read_orders`, `read_inventory`); `import_json` and `import_csv`
read the native formats; `fields` validates each value and builds an `Order` from a mapping;
`channels/` holds one pure adapter per sales channel. Nothing here touches a database.
"""
