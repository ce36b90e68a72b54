"""moto's ``TransactWriteItems`` backing up the items it touches, not whole tables.

moto backs up every table a transaction names with ``copy.deepcopy`` before applying it, so
it can roll back a cancelled one: each transaction costs as much as the tables are large.
The sender records every text in one transaction (``adapters.sent_records``), so a burst of
1,000 texts copied the outbound, ledger and contacts tables a thousand times over: quadratic
time, and 4-6 GB of memory for one benchmark process. ``install`` keeps moto's semantics
(all or nothing) but backs up only the items the transaction names, and puts them back
when moto cancels it. The emulators (the sandbox, the benchmarks) install it; AWS itself is
unaffected, of course.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

_INSTALLED = False


def install() -> None:
    """Patches moto's DynamoDB backend once per process (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    class _TablesNotCopied:
        """moto's ``copy`` module, with a table's deep copy replaced by the table itself (its items are
        backed up one by one instead)."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [_backup(self.tables.get(op.get("TableName")), op) for op in map(_operation, transact_items)]
        try:
            original(self, transact_items)
        except Exception:
            for backup in reversed(saved):
                if backup is not None:
                    _restore(*backup)
            raise

    models.copy = _TablesNotCopied()  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items
    _INSTALLED = True


def _operation(item: Mapping[str, Any]) -> Mapping[str, Any]:
    return next(iter(item.values()), {})


def _backup(table: Any, op: Mapping[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    """(table, hash key, range key, a deep copy of the item or None) for the item ``op`` names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table is None:
        return None
    key = op.get("Key") or op.get("Item") or {}
    if table.hash_key_attr not in key:
        return None
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr and table.range_key_attr in key else None
    try:
        current = table.get_item(hash_key, range_key)
    except Exception:
        return None  # moto refuses the key itself: the transaction fails before writing anything
    return table, hash_key, range_key, copy.deepcopy(current)


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """Puts ``item`` back where it was (None: the item did not exist, so it is removed)."""
    if range_key is not None:
        if item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item
