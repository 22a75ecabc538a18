"""The filter language: canonical form, translation for MongoDB and LanceDB, refusals, and real LanceDB results."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import bson
import lancedb
import numpy as np
import pyarrow as pa
import pytest
from bson import ObjectId

from vectorsync.errors import FilterError
from vectorsync.filters import parse_filter_json, to_lance_sql, to_mongo, validate_filter

FIELDS = [
    "_id",
    "source",
    "chunk_index",
    "updated_at",
    "metadata.lang",
    "metadata.year",
    "metadata.draft",
    "metadata.type",
    "metadata.tags",
    "metadata.author.name",
]
LANG = "json_extract(metadata, '$[\"lang\"]')"
YEAR = "TRY_CAST(json_extract(metadata, '$[\"year\"]') AS DOUBLE)"


# --- canonical form -------------------------------------------------------------------------------------------


def test_short_form_means_eq() -> None:
    assert validate_filter({"source": "docs/a.md"}, FIELDS) == {"source": {"$eq": "docs/a.md"}}


def test_several_fields_become_an_explicit_and() -> None:
    assert validate_filter({"source": "a", "metadata.lang": {"$ne": "en"}}, FIELDS) == {
        "$and": [{"source": {"$eq": "a"}}, {"metadata.lang": {"$ne": "en"}}]
    }


def test_several_operators_on_one_field_become_an_and() -> None:
    assert validate_filter({"metadata.year": {"$gte": 2000, "$lt": 2010}}, FIELDS) == {
        "$and": [{"metadata.year": {"$gte": 2000}}, {"metadata.year": {"$lt": 2010}}]
    }


def test_logical_operators_keep_their_shape_with_canonical_clauses() -> None:
    given = {"$or": [{"source": "a"}, {"$nor": [{"metadata.draft": True}]}], "chunk_index": {"$not": {"$gt": 3}}}
    assert validate_filter(given, FIELDS) == {
        "$and": [
            {"$or": [{"source": {"$eq": "a"}}, {"$nor": [{"metadata.draft": {"$eq": True}}]}]},
            {"chunk_index": {"$not": {"$gt": 3}}},
        ]
    }


def test_empty_filter_matches_everything() -> None:
    assert validate_filter({}, FIELDS) == {}
    assert to_mongo({}, FIELDS) == {}
    assert to_lance_sql({}, FIELDS) == "TRUE"


def test_updated_at_accepts_iso_strings_and_keeps_dates_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    got = validate_filter(
        {"updated_at": {"$gte": "2024-05-01T12:00:00Z", "$lt": datetime(2024, 6, 1, 2, tzinfo=plus_two)}}, FIELDS
    )
    assert got == {
        "$and": [
            {"updated_at": {"$gte": datetime(2024, 5, 1, 12, tzinfo=UTC)}},
            {"updated_at": {"$lt": datetime(2024, 6, 1, 0, tzinfo=UTC)}},
        ]
    }
    naive = validate_filter({"updated_at": datetime(2024, 1, 1)}, FIELDS)
    assert naive == {"updated_at": {"$eq": datetime(2024, 1, 1, tzinfo=UTC)}}


def test_to_mongo_passes_bson_values_through() -> None:
    oid = ObjectId()
    assert to_mongo({"metadata.type": {"$in": [oid, 1.5, "x", False]}}, FIELDS) == {
        "metadata.type": {"$in": [oid, 1.5, "x", False]}
    }


def test_allowed_fields_may_be_any_collection() -> None:
    assert to_mongo({"source": "a"}, {"source"}) == {"source": {"$eq": "a"}}
    assert to_mongo({"source": "a"}, ("source",)) == {"source": {"$eq": "a"}}


# --- LanceDB SQL, operator by operator ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "sql"),
    [
        ({"source": "docs/a.md"}, "\"source\" = 'docs/a.md'"),
        ({"source": {"$ne": "it's"}}, "(\"source\" = 'it''s') IS NOT TRUE"),
        ({"source": {"$in": ["a", "b"]}}, "\"source\" IN ('a', 'b')"),
        ({"source": {"$nin": ["a", "b"]}}, "(\"source\" IN ('a', 'b')) IS NOT TRUE"),
        ({"source": None}, '"source" IS NULL'),
        ({"source": {"$gt": "m"}}, "\"source\" > 'm'"),
        ({"_id": "abc"}, "\"id\" = 'abc'"),
        ({"chunk_index": {"$gte": 2}}, '"chunk_index" >= 2'),
        ({"chunk_index": {"$lt": 2.0}}, '"chunk_index" < 2'),
        ({"chunk_index": {"$lte": 2.5}}, 'CAST("chunk_index" AS DOUBLE) <= 2.5'),
        ({"chunk_index": {"$not": {"$gt": 1}}}, '("chunk_index" > 1) IS NOT TRUE'),
        (
            {"updated_at": {"$gte": datetime(2024, 5, 1, tzinfo=UTC)}},
            "\"updated_at\" >= TIMESTAMP '2024-05-01T00:00:00+00:00'",
        ),
        ({"metadata.lang": "en"}, f"{LANG} = '\"en\"'"),
        ({"metadata.lang": 'l\'été "x"'}, f"{LANG} = '\"l''été \\\"x\\\"\"'"),
        ({"metadata.lang": {"$ne": "en"}}, f"({LANG} = '\"en\"') IS NOT TRUE"),
        ({"metadata.lang": None}, f"{LANG} = 'null'"),
        ({"metadata.lang": {"$ne": None}}, f"({LANG} = 'null') IS NOT TRUE"),
        ({"metadata.draft": True}, "json_extract(metadata, '$[\"draft\"]') = 'true'"),
        ({"metadata.year": 2020}, f"{YEAR} = 2020.0"),
        ({"metadata.year": {"$gt": 2000}}, f"{YEAR} > 2000.0"),
        ({"metadata.year": {"$in": [1999, 2020.5]}}, f"{YEAR} IN (1999.0, 2020.5)"),
        (
            {"metadata.type": {"$in": ["a", 7, False]}},
            "(json_extract(metadata, '$[\"type\"]') IN ('\"a\"', 'false') OR "
            "TRY_CAST(json_extract(metadata, '$[\"type\"]') AS DOUBLE) = 7.0)",
        ),
        ({"metadata.type": {"$in": []}}, "FALSE"),
        ({"metadata.type": {"$nin": []}}, "(FALSE) IS NOT TRUE"),
        (
            {"metadata.lang": {"$gte": "en"}},
            f"(starts_with({LANG}, '\"') AND regexp_replace({LANG}, '^\"|\"$', '', 'g') >= 'en')",
        ),
        ({"metadata.author.name": "Ann"}, 'json_extract(metadata, \'$["author"]["name"]\') = \'"Ann"\''),
        (
            {"$or": [{"source": "a"}, {"chunk_index": 1}]},
            '("source" = \'a\' OR "chunk_index" = 1)',
        ),
        (
            {"$and": [{"source": "a"}, {"chunk_index": 1}]},
            '("source" = \'a\' AND "chunk_index" = 1)',
        ),
        (
            {"$nor": [{"source": "a"}, {"chunk_index": 1}]},
            '("source" = \'a\' OR "chunk_index" = 1) IS NOT TRUE',
        ),
    ],
)
def test_to_lance_sql_writes_each_operator(filter: dict[str, Any], sql: str) -> None:
    assert to_lance_sql(filter, FIELDS) == sql


# --- refusals -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ({"metadata.lang": {"$regex": "^e"}}, "operator '$regex' is not supported"),
        ({"$where": "this.a > 1"}, "operator '$where' is not supported"),
        ({"metadata.tags": {"$elemMatch": {"$eq": "x"}}}, "operator '$elemMatch' is not supported"),
        ({"$text": {"$search": "x"}}, "operator '$text' is not supported"),
        ({"$expr": {"$gt": ["$a", 1]}}, "operator '$expr' is not supported"),
        ({"metadata.tags": {"$all": ["x"]}}, "operator '$all' is not supported"),
        ({"$eq": 5}, "operator '$eq' applies to a field"),
        ({"$not": {"source": "a"}}, "use $nor"),
        ({"source": {"$and": [{"source": "a"}]}}, "operator '$and' combines whole filters"),
        ({"source": {"$in": "a"}}, "$in on field 'source' takes a list"),
        ({"source": {"$nin": {"a": 1}}}, "$nin on field 'source' takes a list"),
        ({"$and": []}, "$and takes a non-empty list"),
        ({"$or": {"source": "a"}}, "$or takes a non-empty list"),
        ({"$or": [{}]}, "each clause of $or must be a non-empty filter"),
        ({"metadata.type": {"kind": "a"}}, "compares plain values, not objects"),
        ({"metadata.type": {"$eq": {"$gt": 1}}}, "compares plain values, not objects"),
        ({"metadata.type": {"$gt": 1, "kind": 2}}, "compares plain values, not objects"),
        ({"metadata.type": {}}, "compares plain values, not objects"),
        ({"metadata.tags": ["x", "y"]}, "lists go to $in or $nin"),
        ({"metadata.type": {"$in": [["x"]]}}, "lists go to $in or $nin"),
        ({"metadata.type": {"$exists": True}}, "$exists on field 'metadata.type': $vectorSearch has no $exists"),
        ({"metadata.type": {"$exists": False}}, "no filter can select chunks by whether a field is present"),
        ({"metadata.type": {"$not": {"$exists": True}}}, "$vectorSearch has no $exists"),
        ({"metadata.type": {"$in": ["a", None]}}, "$in on field 'metadata.type' cannot hold null"),
        ({"source": {"$nin": [None]}}, 'combine them with $and, e.g. {"$and": [{"source": {"$nin": [...]}}, '),
        ({"metadata.type": {"$not": 5}}, "$not on field 'metadata.type' takes operators"),
        ({"metadata.type": {"$not": {"$not": {"$eq": 1}}}}, "takes operators other than $not"),
        ({"metadata.year": {"$gt": None}}, "$gt on field 'metadata.year' orders numbers, strings or dates"),
        ({"metadata.draft": {"$lt": True}}, "$lt on field 'metadata.draft' orders"),
        ({"metadata.year": float("nan")}, "is not a finite number"),
        ({"metadata.year": 2**64}, "does not fit in 64 bits"),
        ({"metadata.year": b"x"}, "bytes values cannot be filtered on"),
        ({"chunk_index": "3"}, "the field holds numbers, got '3'"),
        ({"chunk_index": True}, "the field holds numbers"),
        ({"source": 5}, "the field holds strings, got 5"),
        ({"updated_at": "last tuesday"}, "is not an ISO date"),
        ({"updated_at": 1714560000}, "the field holds dates"),
        (["source"], "a filter is a JSON object"),
    ],
)
def test_validate_filter_refuses_what_vectorsearch_refuses(filter: Any, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        validate_filter(filter, FIELDS)
    assert message in str(caught.value)


def test_unsupported_operator_lists_what_is_supported() -> None:
    with pytest.raises(FilterError, match=r"supported: \$eq, \$ne, .*\$nin, \$not on a field; \$and, \$or, \$nor"):
        validate_filter({"metadata.lang": {"$size": 2}}, FIELDS)


def test_field_outside_the_index_names_the_filter_fields_and_the_setting() -> None:
    with pytest.raises(FilterError) as caught:
        validate_filter({"$or": [{"source": "a"}, {"metadata.lang": "en"}]}, ["source", "metadata.type"])
    assert str(caught.value) == (
        "field 'metadata.lang' is not a filter field of the index; filter fields: source, metadata.type; "
        "add it with VECTORSYNC_FILTER_FIELDS"
    )


def test_index_without_filter_fields_says_so() -> None:
    with pytest.raises(FilterError, match="filter fields: none; add it with VECTORSYNC_FILTER_FIELDS"):
        to_mongo({"source": "a"}, [])


@pytest.mark.parametrize("field", ["metadata.la'ng", "metadata.a b", 'source"', "metadata..x", "metadata.x)--", ""])
def test_field_names_that_would_break_sql_are_refused(field: str) -> None:
    with pytest.raises(FilterError, match="cannot be filtered on"):
        to_lance_sql({field: 1}, [field])


def test_lance_refuses_fields_without_a_column() -> None:
    with pytest.raises(
        FilterError, match=r"'lang' is neither a chunk field \(_id, document, source.*\) nor a metadata key"
    ):
        to_lance_sql({"lang": "en"}, ["lang"])
    with pytest.raises(FilterError, match="'metadata' is neither a chunk field"):
        to_lance_sql({"metadata": "en"}, ["metadata"])


def test_lance_refuses_dates_and_object_ids_inside_metadata() -> None:
    with pytest.raises(FilterError, match=r"field 'metadata\.year': LanceDB keeps metadata as JSON.*datetime"):
        to_lance_sql({"metadata.year": {"$gt": datetime(2020, 1, 1)}}, FIELDS)
    with pytest.raises(FilterError, match="ObjectId"):
        to_lance_sql({"metadata.type": {"$in": ["a", ObjectId()]}}, FIELDS)


# --- --filter JSON ------------------------------------------------------------------------------------------------


def test_parse_filter_json_reads_an_object() -> None:
    assert parse_filter_json('{"metadata.year": {"$gte": 2020}, "source": null}') == {
        "metadata.year": {"$gte": 2020},
        "source": None,
    }


def test_parse_filter_json_points_at_the_broken_spot() -> None:
    with pytest.raises(FilterError, match="filter is not valid JSON: Expecting ',' delimiter at line 1, column 16"):
        parse_filter_json('{"source": "a" "x": 1}')


def test_parse_filter_json_refuses_non_objects_and_repeated_keys() -> None:
    with pytest.raises(FilterError, match="must be a JSON object"):
        parse_filter_json('["source"]')
    with pytest.raises(FilterError, match="repeats the key 'source'; combine the conditions with \\$and"):
        parse_filter_json('{"source": "a", "source": "b"}')


# --- real LanceDB: the rows MongoDB would return ------------------------------------------------------------------

ROWS: dict[str, tuple[str, int, dict[str, Any]]] = {
    "r1": ("docs/a.md", 0, {"lang": "en", "year": 2020, "draft": False, "type": "guide", "author": {"name": "Ann"}}),
    "r2": ("docs/a.md", 1, {"lang": "fr", "year": 2021.5, "draft": True, "type": "guide"}),
    "r3": ("docs/b.md", 0, {"lang": None, "year": "2020", "type": "faq"}),
    "r4": ("docs/c.md", 0, {}),
    "r5": ("notes/d.txt", 2, {"lang": "en", "year": 1999, "draft": False, "type": "note", "tags": ["x"],
                              "author": {"name": "Bob"}}),
    "r6": ("notes/e.txt", 3, {"lang": "l'été", "year": 2020.0, "type": 7, "tags": "x"}),
}  # fmt: skip


@pytest.fixture(scope="module")
def chunks_table(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The chunks table's column layout, with metadata that has missing keys, nulls and mixed types."""
    ids = list(ROWS)
    dims = 4
    columns = {
        "id": pa.array(ids),
        "document": pa.array([source for source, _, _ in ROWS.values()]),
        "source": pa.array([source for source, _, _ in ROWS.values()]),
        "text": pa.array([f"text of {i}" for i in ids]),
        "chunk_index": pa.array([index for _, index, _ in ROWS.values()], pa.int64()),
        "metadata": pa.array([json.dumps(meta) for _, _, meta in ROWS.values()], type=pa.json_()),
        "embedding_model": pa.array(["test-model"] * len(ids)),
        "fingerprint": pa.array([f"fp-{i}" for i in ids]),
        "updated_at": pa.array(
            [datetime(2024, month, 1, tzinfo=UTC) for month in range(1, len(ids) + 1)], pa.timestamp("us", tz="UTC")
        ),
        "vector": pa.FixedSizeListArray.from_arrays(
            pa.array([float(n % 3) for n in range(len(ids) * dims)], pa.float32()), dims
        ),
    }
    db = lancedb.connect(tmp_path_factory.mktemp("lance"))
    return db.create_table("chunks", pa.table(columns))


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({}, "r1 r2 r3 r4 r5 r6"),
        ({"metadata.lang": "en"}, "r1 r5"),
        ({"metadata.lang": {"$ne": "en"}}, "r2 r3 r4 r6"),
        ({"metadata.lang": None}, "r3"),
        ({"metadata.lang": {"$eq": None}}, "r3"),
        ({"metadata.lang": {"$ne": None}}, "r1 r2 r4 r5 r6"),
        ({"metadata.lang": {"$not": {"$eq": None}}}, "r1 r2 r4 r5 r6"),
        ({"metadata.lang": "l'été"}, "r6"),
        ({"metadata.lang": {"$in": ["fr", "l'été"]}}, "r2 r6"),
        ({"$or": [{"metadata.lang": {"$in": ["fr"]}}, {"metadata.lang": None}]}, "r2 r3"),
        ({"metadata.lang": {"$nin": ["en", "fr"]}}, "r3 r4 r6"),
        ({"metadata.lang": {"$gt": "en"}}, "r2 r6"),
        ({"metadata.year": 2020}, "r1 r6"),
        ({"metadata.year": "2020"}, "r3"),
        ({"metadata.year": {"$gte": 2020}}, "r1 r2 r6"),
        ({"metadata.year": {"$gt": 2000, "$lt": 2021}}, "r1 r6"),
        ({"metadata.year": {"$lt": 2000}}, "r5"),
        ({"metadata.year": {"$ne": 2020}}, "r2 r3 r4 r5"),
        ({"metadata.year": {"$not": {"$gte": 2020}}}, "r3 r4 r5"),
        ({"metadata.year": {"$in": [1999, 2021.5]}}, "r2 r5"),
        ({"metadata.draft": True}, "r2"),
        ({"metadata.draft": False}, "r1 r5"),
        ({"metadata.draft": {"$ne": True}}, "r1 r3 r4 r5 r6"),
        ({"metadata.type": {"$in": ["guide", 7]}}, "r1 r2 r6"),
        ({"metadata.type": {"$nin": ["guide", 7]}}, "r3 r4 r5"),
        ({"metadata.draft": None}, ""),
        ({"metadata.draft": {"$ne": None}}, "r1 r2 r3 r4 r5 r6"),
        ({"metadata.author.name": "Bob"}, "r5"),
        ({"metadata.author.name": {"$ne": "Bob"}}, "r1 r2 r3 r4 r6"),
        ({"source": "docs/a.md"}, "r1 r2"),
        ({"source": {"$nin": ["docs/a.md", "docs/b.md"]}}, "r4 r5 r6"),
        ({"source": {"$gte": "notes/"}}, "r5 r6"),
        ({"_id": {"$in": ["r2", "r4"]}}, "r2 r4"),
        ({"chunk_index": {"$gte": 2}}, "r5 r6"),
        ({"chunk_index": {"$lt": 0.5}}, "r1 r3 r4"),
        ({"updated_at": {"$gte": datetime(2024, 4, 1, tzinfo=UTC)}}, "r4 r5 r6"),
        ({"updated_at": {"$lt": "2024-02-15T00:00:00Z"}}, "r1 r2"),
        ({"source": "docs/a.md", "metadata.year": {"$gt": 2020}}, "r2"),
        ({"$and": [{"source": "docs/a.md"}, {"metadata.draft": False}]}, "r1"),
        ({"$or": [{"metadata.lang": "fr"}, {"chunk_index": 3}]}, "r2 r6"),
        ({"$nor": [{"metadata.lang": "en"}, {"metadata.type": "faq"}]}, "r2 r4 r6"),
        (
            {
                "$or": [
                    {"$and": [{"metadata.lang": "en"}, {"metadata.year": {"$lt": 2000}}]},
                    {"metadata.lang": {"$not": {"$in": ["en", "fr"]}}, "chunk_index": 0},
                ]
            },
            "r3 r4 r5",
        ),
        ({"$nor": [{"$or": [{"metadata.draft": True}, {"metadata.year": {"$not": {"$lt": 2020}}}]}]}, "r5"),
    ],
)
def test_lance_prefilter_returns_the_rows_mongodb_would(
    chunks_table: Any, filter: dict[str, Any], expected: str
) -> None:
    sql = to_lance_sql(filter, FIELDS)
    rows = chunks_table.search([1.0, 0.0, 1.0, 0.0]).where(sql, prefilter=True).limit(100).to_arrow()
    assert sorted(rows["id"].to_pylist()) == expected.split(), sql


def test_lance_compares_metadata_arrays_whole(chunks_table: Any) -> None:
    """The one known difference: MongoDB would also return r5, whose tags are ["x"]."""
    sql = to_lance_sql({"metadata.tags": "x"}, FIELDS)
    rows = chunks_table.search([1.0, 0.0, 1.0, 0.0]).where(sql, prefilter=True).limit(100).to_arrow()
    assert rows["id"].to_pylist() == ["r6"]


# --- the same filters as MongoDB gets them -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "mongo"),
    [
        ({"metadata.lang": None}, {"metadata.lang": {"$eq": None}}),
        ({"metadata.lang": {"$ne": None}}, {"metadata.lang": {"$ne": None}}),
        ({"metadata.lang": {"$not": {"$eq": None}}}, {"metadata.lang": {"$not": {"$eq": None}}}),
        (
            {"$or": [{"metadata.lang": {"$in": ["fr"]}}, {"metadata.lang": None}]},
            {"$or": [{"metadata.lang": {"$in": ["fr"]}}, {"metadata.lang": {"$eq": None}}]},
        ),
        (
            {"metadata.year": {"$gt": 2000, "$lt": 2021}},
            {"$and": [{"metadata.year": {"$gt": 2000}}, {"metadata.year": {"$lt": 2021}}]},
        ),
        ({"$nor": [{"metadata.lang": "en"}]}, {"$nor": [{"metadata.lang": {"$eq": "en"}}]}),
        ({"chunk_index": {"$lt": 0.5}}, {"chunk_index": {"$lt": 0.5}}),
    ],
)
def test_to_mongo_writes_the_operators_vectorsearch_lists(filter: dict[str, Any], mongo: dict[str, Any]) -> None:
    """Only $eq $ne $gt $gte $lt $lte $in $nin $not $and $or $nor reach $vectorSearch, one operator per clause."""
    assert to_mongo(filter, FIELDS) == mongo


def test_uuid_values_reach_mongodb_as_standard_binary_and_are_refused_in_lance_metadata() -> None:
    """A UUID compares as BSON binary subtype 4 (the client's uuidRepresentation=standard); LanceDB's JSON has none."""
    from bson import CodecOptions, UuidRepresentation
    from bson.binary import Binary

    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    mongo = to_mongo({"metadata.type": value}, FIELDS)
    standard = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)
    raw = bson.decode(bson.encode({"filter": mongo}, codec_options=standard))
    assert raw["filter"]["metadata.type"]["$eq"] == Binary(value.bytes, 4)
    with pytest.raises(FilterError, match=r"field 'metadata\.type': LanceDB keeps metadata as JSON.*UUID"):
        to_lance_sql({"metadata.type": value}, FIELDS)
    with pytest.raises(FilterError, match="the field holds strings"):
        to_mongo({"_id": value}, FIELDS)


def test_lance_store_matches_explicit_nulls_only_as_vectorsearch_does(tmp_path: Any) -> None:
    """Through the real LanceStore: null equality finds the chunk whose key is null, not the one without the key."""
    from vectorsync.records import Chunk
    from vectorsync.stores.base import IndexSpec
    from vectorsync.stores.lance import LanceStore

    store = LanceStore(tmp_path / "lance")
    metadata = {"null": {"lang": None}, "missing": {}, "english": {"lang": "en"}}
    chunks = [Chunk(key, key, f"{key}.txt", f"text {key}", 0, meta, f"fp-{key}") for key, meta in metadata.items()]
    store.upsert(chunks, np.eye(3, 4, dtype=np.float32), "test-model")
    store.ensure_index(IndexSpec("vector_index", 4, filter_fields=("metadata.lang",)))

    def ids(filter: dict[str, Any]) -> list[str]:
        return sorted(hit.id for hit in store.search(np.ones(4, np.float32), k=10, filter=filter, exact=True))

    assert ids({"metadata.lang": None}) == ["null"]
    assert ids({"metadata.lang": {"$ne": None}}) == ["english", "missing"]
    assert ids({"metadata.lang": {"$ne": "en"}}) == ["missing", "null"]
    with pytest.raises(FilterError, match="no \\$exists"):
        ids({"metadata.lang": {"$exists": False}})
