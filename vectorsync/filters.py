"""Search filters: the part of MongoDB's query language that `$vectorSearch` accepts, checked once, written per store.

One filter gives the same chunks on both stores, or is refused with the reason: `to_mongo` hands the checked
filter to `$vectorSearch`, `to_lance_sql` writes a LanceDB predicate that selects what `$vectorSearch` would.
`$vectorSearch` is not `find`: it has no `$exists`, and null equality matches explicit nulls only, never a missing
field; so neither store accepts `$exists`, null is compared with `$eq`/`$ne` only, and LanceDB's metadata JSON tells
a null apart from a missing key as Atlas does. Negations (`$ne`, `$nin`, `$not`, `$nor`) are complements, so they
also match chunks without the field. Arrays inside metadata are the one difference left: LanceDB compares them
whole, MongoDB element by element (docs/mongodb.md lists each operator per store).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from vectorsync.errors import FilterError

FIELD_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$not")
LOGICAL_OPERATORS = ("$and", "$or", "$nor")
_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_SUPPORTED = f"{', '.join(FIELD_OPERATORS)} on a field; {', '.join(LOGICAL_OPERATORS)} to combine filters"

# Top-level chunk fields: the value type they hold and their LanceDB column. Other fields are metadata.<key>.
_COLUMNS: dict[str, tuple[type, str]] = {
    "_id": (str, "id"),
    "document": (str, "document"),
    "source": (str, "source"),
    "text": (str, "text"),
    "chunk_index": (int, "chunk_index"),
    "embedding_model": (str, "embedding_model"),
    "dimensions": (int, "dimensions"),
    "fingerprint": (str, "fingerprint"),
    "updated_at": (datetime, "updated_at"),
}
_FIELD_NAME = re.compile(r"[\w-]+(\.[\w-]+)*")
_INT64 = range(-(2**63), 2**63)


def validate_filter(filter: Mapping[str, Any], allowed_fields: Collection[str]) -> dict[str, Any]:
    """The filter in canonical form: one operator per field condition, several conditions under `$and`.

    Raises FilterError naming the operator, field or value that `$vectorSearch` would refuse.
    """
    if not isinstance(filter, Mapping):
        raise FilterError(f'a filter is a JSON object such as {{"source": "docs/a.md"}}, got {filter!r}')
    allowed = list(allowed_fields) if isinstance(allowed_fields, Sequence) else sorted(allowed_fields)
    return _document(filter, allowed)


def to_mongo(filter: Mapping[str, Any], allowed_fields: Collection[str]) -> dict[str, Any]:
    """The filter, checked, ready for `$vectorSearch`'s `filter` option."""
    return validate_filter(filter, allowed_fields)


def to_lance_sql(filter: Mapping[str, Any], allowed_fields: Collection[str]) -> str:
    """A LanceDB SQL predicate for `.where(sql, prefilter=True)` that selects what MongoDB would."""
    canonical = validate_filter(filter, allowed_fields)
    return _sql(canonical) if canonical else "TRUE"


def parse_filter_json(text: str) -> dict[str, Any]:
    """The filter in a JSON string (the CLI's `--filter`); FilterError says where the JSON breaks."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise FilterError(f"filter is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    if not isinstance(value, dict):
        raise FilterError(f'filter must be a JSON object such as {{"source": "docs/a.md"}}, got {text.strip()!r}')
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise FilterError(f"filter repeats the key {duplicates[0]!r}; combine the conditions with $and")
    return dict(pairs)


# --- validation -------------------------------------------------------------------------------------------------


def _document(doc: Mapping[str, Any], allowed: list[str]) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = []
    for key, value in doc.items():
        if not isinstance(key, str):
            raise FilterError(f"filter keys are field names or operators, got {key!r}")
        if key in LOGICAL_OPERATORS:
            clauses.append({key: _clauses(key, value, allowed)})
        elif key in FIELD_OPERATORS:
            raise FilterError(
                f'operator {key!r} applies to a field, e.g. {{"source": {{"{key}": ...}}}}'
                + ("; to negate whole clauses use $nor" if key == "$not" else "")
            )
        elif key.startswith("$"):
            raise _unsupported(key)
        else:
            clauses.extend(_field(key, value, allowed))
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses} if clauses else {}


def _clauses(op: str, value: Any, allowed: list[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise FilterError(f"{op} takes a non-empty list of filters, got {value!r}")
    for item in value:
        if not isinstance(item, Mapping) or not item:
            raise FilterError(f"each clause of {op} must be a non-empty filter object, got {item!r}")
    return [_document(item, allowed) for item in value]


def _field(field: str, condition: Any, allowed: list[str]) -> list[dict[str, Any]]:
    if not _FIELD_NAME.fullmatch(field):
        raise FilterError(
            f"field name {field!r} cannot be filtered on: use letters, digits, '_' and '-' in dot-separated parts"
        )
    if field not in allowed:
        listed = ", ".join(allowed) if allowed else "none"
        raise FilterError(
            f"field {field!r} is not a filter field of the index; filter fields: {listed}; "
            "add it with VECTORSYNC_FILTER_FIELDS"
        )
    if not _is_condition(condition):
        return [{field: {"$eq": _value(field, "$eq", condition)}}]
    return [{field: {op: _operand(field, op, arg)}} for op, arg in condition.items()]


def _is_condition(value: Any) -> bool:
    """Whether `value` is `{"$op": ...}`; objects with plain keys are values, which filters cannot compare."""
    return isinstance(value, Mapping) and bool(value) and all(str(key).startswith("$") for key in value)


def _operand(field: str, op: str, arg: Any) -> Any:
    if op in ("$eq", "$ne") or op in _RANGE:
        return _value(field, op, arg)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise FilterError(f"{op} on field {field!r} takes a list of values, got {arg!r}")
        if None in arg:
            joined = "$or" if op == "$in" else "$and"
            raise FilterError(
                f"{op} on field {field!r} cannot hold null: $vectorSearch compares null with $eq and $ne only; "
                f'combine them with {joined}, e.g. {{"{joined}": [{{"{field}": {{"{op}": [...]}}}}, '
                f'{{"{field}": {{"{"$eq" if op == "$in" else "$ne"}": null}}}}]}}'
            )
        return [_value(field, op, item) for item in arg]
    if op == "$exists":
        raise FilterError(
            f"$exists on field {field!r}: $vectorSearch has no $exists, and its null matches only explicit nulls, "
            "so no filter can select chunks by whether a field is present; give the field a value (null included) "
            "when writing, and compare with that value"
        )
    if op == "$not":
        if not _is_condition(arg) or "$not" in arg:
            raise FilterError(
                f'$not on field {field!r} takes operators other than $not, e.g. {{"$not": {{"$gt": 5}}}}, got {arg!r}'
            )
        return {inner: _operand(field, inner, value) for inner, value in arg.items()}
    if op in LOGICAL_OPERATORS:
        raise FilterError(f"operator {op!r} combines whole filters: put it at the top, not under field {field!r}")
    raise _unsupported(op)


def _value(field: str, op: str, value: Any) -> Any:
    """A comparison value: checked against what `$vectorSearch` compares and what the field holds."""
    if isinstance(value, Mapping):
        raise FilterError(f"{op} on field {field!r} compares plain values, not objects: got {value!r}")
    if isinstance(value, list | tuple):
        raise FilterError(f"{op} on field {field!r} compares one value; lists go to $in or $nin: got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f"{op} on field {field!r}: {value!r} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        raise FilterError(f"{op} on field {field!r}: {value} does not fit in 64 bits")
    if not isinstance(value, None | bool | int | float | str | datetime | ObjectId | uuid.UUID):
        raise FilterError(
            f"{op} on field {field!r}: {type(value).__name__} values cannot be filtered on; "
            "use booleans, numbers, strings, dates, ObjectIds, UUIDs or null"
        )
    if op in _RANGE and (value is None or isinstance(value, bool | ObjectId | uuid.UUID)):
        raise FilterError(f"{op} on field {field!r} orders numbers, strings or dates, got {value!r}")
    if field in _COLUMNS and value is not None:
        value = _column_value(field, op, value)
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _column_value(field: str, op: str, value: Any) -> Any:
    kind = _COLUMNS[field][0]
    if kind is datetime and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise FilterError(
                f"{op} on field {field!r}: {value!r} is not an ISO date such as 2024-05-01T12:00:00Z"
            ) from None
    if not (_is_number(value) if kind is int else isinstance(value, kind)):
        holds = {str: "strings", int: "numbers", datetime: "dates"}[kind]
        raise FilterError(f"{op} on field {field!r}: the field holds {holds}, got {value!r}")
    return value


def _unsupported(op: str) -> FilterError:
    return FilterError(f"operator {op!r} is not supported by $vectorSearch filters; supported: {_SUPPORTED}")


# --- LanceDB SQL ------------------------------------------------------------------------------------------------


def _sql(doc: Mapping[str, Any]) -> str:
    ((key, value),) = doc.items()
    if key == "$and":
        return "(" + " AND ".join(_sql(clause) for clause in value) + ")"
    if key == "$or":
        return "(" + " OR ".join(_sql(clause) for clause in value) + ")"
    if key == "$nor":
        return _negate(" OR ".join(_sql(clause) for clause in value))
    ((op, arg),) = value.items()
    target = _ColumnTarget(key) if key in _COLUMNS else _MetadataTarget(key)
    return _condition(target, op, arg)


def _condition(target: _ColumnTarget | _MetadataTarget, op: str, arg: Any) -> str:
    if op == "$eq":
        return target.among([arg])
    if op == "$ne":
        return _negate(target.among([arg]))
    if op == "$in":
        return target.among(arg)
    if op == "$nin":
        return _negate(target.among(arg))
    if op == "$not":
        return _negate(" AND ".join(_condition(target, inner, value) for inner, value in arg.items()))
    return target.compare(_RANGE[op], arg)


def _negate(sql: str) -> str:
    """NOT that also holds where `sql` is NULL: MongoDB's $ne, $nin, $not and $nor match missing fields."""
    return f"({sql}) IS NOT TRUE"


def _any_of(parts: list[str]) -> str:
    if not parts:
        return "FALSE"
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _in(expr: str, literals: list[str]) -> str:
    return f"{expr} = {literals[0]}" if len(literals) == 1 else f"{expr} IN ({', '.join(literals)})"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number(value: float) -> str:
    return repr(float(value))


class _ColumnTarget:
    """A top-level chunk field, stored in its own typed column."""

    def __init__(self, field: str) -> None:
        self.kind, column = _COLUMNS[field]
        self.expr = f'"{column}"'

    def among(self, values: Iterable[Any]) -> str:
        values = list(values)
        present = [value for value in values if value is not None]
        parts = [_in(self._operand(present), [self._literal(v) for v in present])] if present else []
        if len(present) < len(values):
            parts.append(f"{self.expr} IS NULL")
        return _any_of(parts)

    def compare(self, symbol: str, value: Any) -> str:
        return f"{self._operand([value])} {symbol} {self._literal(value)}"

    def _operand(self, values: list[Any]) -> str:
        # Lance refuses fractional literals against integer columns, so compare those as doubles.
        fractional = any(isinstance(value, float) and not value.is_integer() for value in values)
        return f"CAST({self.expr} AS DOUBLE)" if self.kind is int and fractional else self.expr

    def _literal(self, value: Any) -> str:
        if isinstance(value, datetime):
            return f"TIMESTAMP {_string(value.isoformat())}"
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else _number(value)
        return str(value) if isinstance(value, int) else _string(value)


class _MetadataTarget:
    """A key inside the `metadata` JSON column, read as JSON text so that types stay apart as in MongoDB.

    Lance's `json_get_float` and friends convert across types and fail the whole query on values they cannot
    convert; `json_extract` returns the JSON text ('"en"', '2020', 'true', 'null', NULL when missing) and never fails.
    """

    def __init__(self, field: str) -> None:
        head, _, path = field.partition(".")
        if head != "metadata" or not path:
            raise FilterError(
                f"field {field!r} is neither a chunk field ({', '.join(_COLUMNS)}) nor a metadata key; "
                "in LanceDB user fields live under metadata, e.g. metadata.lang"
            )
        self.field = field
        json_path = "$" + "".join(f'["{key}"]' for key in path.split("."))
        self.expr = f"json_extract(metadata, {_string(json_path)})"

    def among(self, values: Iterable[Any]) -> str:
        values = list(values)
        for value in values:
            self._check(value)
        # Strings, booleans and null compare as JSON text; numbers as doubles, so 2020 matches 2020.0.
        texts = [_string(json.dumps(v, ensure_ascii=False)) for v in values if not _is_number(v)]
        numbers = [_number(v) for v in values if _is_number(v)]
        parts = [_in(self.expr, texts)] if texts else []
        if numbers:
            parts.append(_in(f"TRY_CAST({self.expr} AS DOUBLE)", numbers))
        # null is the JSON text 'null' of an explicit null; a missing key (SQL NULL) never equals it, as in Atlas.
        return _any_of(parts)

    def compare(self, symbol: str, value: Any) -> str:
        self._check(value)
        if isinstance(value, str):
            # Compares the JSON-escaped text, which orders like the string itself barring quotes and backslashes.
            unquoted = f"regexp_replace({self.expr}, '^\"|\"$', '', 'g')"
            escaped = json.dumps(value, ensure_ascii=False)[1:-1]
            return f"(starts_with({self.expr}, '\"') AND {unquoted} {symbol} {_string(escaped)})"
        return f"TRY_CAST({self.expr} AS DOUBLE) {symbol} {_number(value)}"

    def _check(self, value: Any) -> None:
        if isinstance(value, datetime | ObjectId | uuid.UUID):
            raise FilterError(
                f"field {self.field!r}: LanceDB keeps metadata as JSON, which has no {type(value).__name__} values; "
                "compare with the string or number the metadata holds"
            )
