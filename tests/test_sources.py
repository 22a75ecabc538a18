"""Loaders: discovery, one test per format's good path, and every kind of bad input becoming a skip."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import random
import tempfile
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vectorsync.errors import ConfigError, InputError
from vectorsync.records import Record, Skip
from vectorsync.sources import SUPPORTED_SUFFIXES, LoadOptions, discover, load, load_file, source_name


def records(items: Iterable[Record | Skip]) -> list[Record]:
    return [item for item in items if isinstance(item, Record)]


def skips(items: Iterable[Record | Skip]) -> list[Skip]:
    return [item for item in items if isinstance(item, Skip)]


def source_of(path: Path) -> str:
    return path.resolve().as_posix()


def make_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page (an empty string makes a blank page)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text else b""
        box_and_font = "/MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
        objects.append(f"<< /Type /Page /Parent 2 0 R {box_and_font} /Contents {5 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


# Discovery


def test_discover_walks_folders_recursively_and_leaves_out_hidden_entries(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "nested" / "deeper" / "b.txt").write_text("b")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.txt").write_text("hidden")
    (tmp_path / ".vectorsync").mkdir()
    (tmp_path / ".vectorsync" / "cache.jsonl").write_text("{}")
    (tmp_path / ".hidden.md").write_text("hidden")

    found = list(discover(tmp_path))

    assert found == [(tmp_path / "a.md").resolve(), (tmp_path / "nested" / "deeper" / "b.txt").resolve()]


def test_discover_returns_a_single_file_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "note.txt").write_text("hello")
    monkeypatch.chdir(tmp_path)

    assert list(discover("note.txt")) == [(tmp_path / "note.txt").resolve()]


def test_discover_expands_a_recursive_glob_in_sorted_order(tmp_path: Path) -> None:
    for name in ("z.md", "sub/y.md", "sub/x.txt", "a.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("text")

    found = list(discover(f"{tmp_path}/**/*.md"))

    assert [path.relative_to(tmp_path.resolve()).as_posix() for path in found] == ["a.md", "sub/y.md", "z.md"]


@pytest.mark.parametrize("name", ["missing-folder", "missing/*.md"])
def test_discover_raises_input_error_for_a_path_that_matches_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as error:
        discover(tmp_path / name)
    assert error.value.source == str(tmp_path / name)


def test_discover_raises_input_error_for_a_folder_without_visible_files(tmp_path: Path) -> None:
    (tmp_path / ".only-hidden").write_text("x")
    with pytest.raises(InputError, match="no files found"):
        discover(tmp_path)


def test_load_checks_the_path_before_iteration_starts(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load(tmp_path / "nowhere")


# Plain text and Markdown


def test_text_file_is_one_record_whose_id_is_its_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("  Tides follow the moon.\n\n")

    [record] = load_file(path)

    assert record.id == record.source == source_of(path)
    assert record.text == "Tides follow the moon."
    assert record.metadata == {"type": "txt", "file_name": "note.txt"}


def test_markdown_title_comes_from_the_first_top_level_heading(tmp_path: Path) -> None:
    (tmp_path / "bees.md").write_text("Intro line\n## Not this\n# Keeping Bees #\ntext\n# Second\n")
    (tmp_path / "plain.markdown").write_text("No heading here, just text.\n")

    bees, plain = records(load(tmp_path))

    assert bees.metadata == {"type": "md", "file_name": "bees.md", "title": "Keeping Bees"}
    assert plain.metadata == {"type": "markdown", "file_name": "plain.markdown"}


def test_record_ids_are_stable_across_runs_and_unique(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\nalpha")
    (tmp_path / "b.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    (tmp_path / "c.pdf").write_bytes(make_pdf(["first page", "second page"]))

    first = [record.id for record in records(load(tmp_path))]
    second = [record.id for record in records(load(tmp_path))]

    assert first == second
    assert len(set(first)) == len(first) == 5


def test_empty_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.touch()

    assert list(load_file(path)) == [Skip(source_of(path), "empty file")]


def test_whitespace_only_text_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\t\n   \r\n")

    [skip] = load_file(path)

    assert isinstance(skip, Skip)
    assert "only whitespace" in skip.reason


@pytest.mark.parametrize(
    "content",
    [
        random.Random(7).randbytes(4096),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
        b"\x00" * 2048,
    ],
    ids=["random-bytes", "png-like", "nul-bytes"],
)
def test_binary_content_in_a_txt_file_is_skipped_as_binary(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "picture.txt"
    path.write_bytes(content)

    [skip] = load_file(path)

    assert isinstance(skip, Skip)
    assert skip.source == source_of(path)
    assert "binary" in skip.reason


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Le café coûte 3 € — très “bon”.", "cp1252"),
        ("Ärger über Öl, naïve façade, 10 °C", "latin-1"),
        ("Grüße aus Köln, ταχύτητα and 日本語", "utf-16"),
        ("Smørrebrød with a byte-order mark", "utf-8-sig"),
    ],
)
def test_legacy_encodings_are_decoded_not_dropped(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))

    [record] = load_file(path)

    assert record.text == text


def test_control_characters_are_removed_with_a_warning_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "terminal.txt"
    path.write_text(
        "A log line\x00 copied from a terminal\x07, with colour \x1b[31mred\x1b[0m and a stray\x08 backspace.\n"
        "\tAn indented line\x0bafter a vertical tab,\x0canother page.\n"
    )

    with caplog.at_level(logging.WARNING, logger="vectorsync.sources"):
        [record] = load_file(path)

    assert record.text == (
        "A log line copied from a terminal, with colour red and a stray backspace.\n"
        "\tAn indented line\nafter a vertical tab,\nanother page."
    )
    [warning] = [entry for entry in caplog.records if entry.name == "vectorsync.sources"]
    assert source_of(path) in warning.getMessage()


def test_a_20_megabyte_text_file_is_streamed_in_bounded_parts_that_keep_every_word(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    expected = hashlib.sha256()
    with path.open("w") as stream:
        number = size = 0
        while size < 20_000_000:
            line = f"line {number} holds words about rivers and mountains and distant shores"
            size += stream.write(line + ("\n\n" if number % 5 == 0 else "\n"))
            expected.update(f"{line} ".encode())
            number += 1
    limit = 1_000_000

    got = hashlib.sha256()
    sizes = []
    ids = []
    tracemalloc.start()
    try:
        for record in load_file(path, LoadOptions(max_record_chars=limit)):
            sizes.append(len(record.text))
            ids.append(record.id)
            got.update(record.text.replace("\n\n", " ").replace("\n", " ").encode() + b" ")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert len(sizes) >= 20
    assert max(sizes) <= limit
    assert ids[:3] == [source_of(path), f"{source_of(path)}#part-1", f"{source_of(path)}#part-2"]
    assert got.hexdigest() == expected.hexdigest()
    assert peak < 8 * limit, f"peak of {peak} bytes: the file was read whole, not streamed"


def test_parts_end_at_paragraph_breaks_when_there_are_some(tmp_path: Path) -> None:
    path = tmp_path / "paragraphs.txt"
    paragraphs = [f"Paragraph {n} " + "word " * 8 for n in range(12)]
    path.write_text("\n\n".join(paragraphs))

    parts = records(load_file(path, LoadOptions(max_record_chars=120)))

    assert all(len(part.text) <= 120 for part in parts)
    assert [paragraph.strip() for paragraph in "\n\n".join(part.text for part in parts).split("\n\n")] == [
        paragraph.strip() for paragraph in paragraphs
    ]


def test_unsupported_suffix_gives_one_skip(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpeg"
    path.write_bytes(b"\xff\xd8\xff")

    [skip] = load_file(path)

    assert (skip.source, skip.location) == (source_of(path), None)
    assert "'.jpeg'" in skip.reason and ".md" in skip.reason
    assert ".md" in SUPPORTED_SUFFIXES and ".parquet" in SUPPORTED_SUFFIXES


def test_a_path_that_cannot_be_opened_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "folder.txt"
    path.mkdir()

    [skip] = load_file(path)

    assert skip.source == source_of(path)
    assert "cannot read" in skip.reason


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "secret.md"
    path.write_text("# Secret")
    path.chmod(0)

    [skip] = load_file(path)

    assert "cannot read" in skip.reason and "ermission" in skip.reason


def test_bad_files_are_skipped_while_the_rest_of_the_folder_loads(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\nfine text")
    (tmp_path / "empty.txt").touch()
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (tmp_path / "zz.txt").write_text("also fine")

    items = list(load(tmp_path))

    assert [record.text for record in records(items)] == ["# Good\nfine text", "also fine"]
    assert [Path(skip.source).name for skip in skips(items)] == ["broken.pdf", "empty.txt"]


def test_load_options_refuse_a_record_size_below_one() -> None:
    with pytest.raises(ConfigError, match="max_record_chars"):
        LoadOptions(max_record_chars=0)


# PDF


def test_pdf_yields_one_record_per_page_with_text(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(["Glaciers carve valleys.", "", "Rivers carry silt to the sea."]))

    first, third = load_file(path)

    assert first.id == f"{source_of(path)}#page-1"
    assert first.text == "Glaciers carve valleys."
    assert first.metadata == {"type": "pdf", "file_name": "report.pdf", "page": 1}
    assert third.id == f"{source_of(path)}#page-3"
    assert third.metadata["page"] == 3


def test_pdf_without_any_text_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf(["", ""]))

    [skip] = load_file(path)

    assert "no extractable text" in skip.reason


def test_garbage_bytes_named_pdf_are_skipped_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_bytes(random.Random(3).randbytes(2000))

    [skip] = load_file(path)

    assert skip.source == source_of(path)
    assert "not a readable PDF" in skip.reason


def test_truncated_pdf_is_skipped_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "truncated.pdf"
    whole = make_pdf(["One page of text.", "Another page of text."])
    path.write_bytes(whole[: len(whole) * 2 // 3])

    items = list(load_file(path))

    assert records(items) == []
    [skip] = skips(items)
    assert skip.source == source_of(path)
    assert "PDF" in skip.reason


# JSON Lines


def test_jsonl_rows_become_records_keyed_by_line_with_scalar_metadata(tmp_path: Path) -> None:
    first_row = {"text": "How tall is Everest?", "topic": "geography", "votes": 3, "score": 0.5, "ok": True, "tags": []}
    second_row = {"text": "Why is the sky blue?", "type": "not kept", "nested": {"a": 1}}
    path = write_jsonl(tmp_path / "faq.jsonl", [first_row, "", second_row])

    first, second = load_file(path)

    assert first.id == f"{source_of(path)}#L1"
    assert first.text == "How tall is Everest?"
    file_fields = {"type": "jsonl", "file_name": "faq.jsonl"}
    assert first.metadata == {"topic": "geography", "votes": 3, "score": 0.5, "ok": True, **file_fields}
    assert second.id == f"{source_of(path)}#L3"
    assert second.metadata == file_fields


def test_jsonl_id_field_keys_the_records(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": "intro", "text": "a"}, {"id": 42, "text": "b"}])

    ids = [record.id for record in load_file(path, LoadOptions(id_field="id"))]

    assert ids == [f"{source_of(path)}#intro", f"{source_of(path)}#42"]


def test_malformed_jsonl_line_is_skipped_by_line_number_and_the_others_load(tmp_path: Path) -> None:
    lines: list[object] = [{"text": f"row {n}"} for n in range(1, 10)]
    lines[6] = '{"text": "unterminated'
    path = write_jsonl(tmp_path / "rows.jsonl", lines)

    items = list(load_file(path))

    assert [record.text for record in records(items)] == [f"row {n}" for n in (1, 2, 3, 4, 5, 6, 8, 9)]
    [skip] = skips(items)
    assert skip.location == "line 7"
    assert skip.source == source_of(path)
    assert "malformed JSON" in skip.reason


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"body": "text under another name"}, "no 'text' field"),
        ({"text": 12}, "field 'text' is a number"),
        ({"text": None}, "field 'text' is null"),
        ({"text": ["a", "b"]}, "field 'text' is a list"),
        ({"text": " \n\t "}, "field 'text' holds only whitespace"),
        ([1, 2], "expected a JSON object"),
    ],
    ids=["missing", "number", "null", "list", "whitespace", "not-an-object"],
)
def test_jsonl_rows_without_usable_text_are_skipped_naming_line_and_field(
    tmp_path: Path, row: object, reason: str
) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [{"text": "fine"}, row])

    good, skip = load_file(path)

    assert good.text == "fine"
    assert skip == Skip(source_of(path), skip.reason, "line 2")
    assert reason in skip.reason


def test_jsonl_rows_with_a_missing_or_repeated_id_are_skipped(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "ids.jsonl",
        [{"key": "a", "text": "one"}, {"text": "no key"}, {"key": "a", "text": "again"}, {"key": 1.5, "text": "x"}],
    )

    items = list(load_file(path, LoadOptions(id_field="key")))

    assert [record.id for record in records(items)] == [f"{source_of(path)}#a"]
    assert [(skip.location, skip.reason) for skip in skips(items)] == [
        ("line 2", "no id field 'key'"),
        ("line 3", "duplicate id 'a' (first at line 1)"),
        ("line 4", "id field 'key' is a number, not a string or integer"),
    ]


def test_text_fields_are_joined_with_a_space(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "articles.jsonl", [{"title": "Coral reefs", "text": "They are built by polyps."}])

    [record] = load_file(path, LoadOptions(text_fields=("title", "text")))

    assert record.text == "Coral reefs They are built by polyps."
    assert record.metadata == {"type": "jsonl", "file_name": "articles.jsonl"}


def test_a_row_with_huge_text_becomes_several_parts(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "long.jsonl", [{"text": "lorem ipsum " * 30}])

    parts = records(load_file(path, LoadOptions(max_record_chars=100)))

    base = f"{source_of(path)}#L1"
    assert [part.id for part in parts] == [base, f"{base}#part-1", f"{base}#part-2", f"{base}#part-3"]
    assert all(len(part.text) <= 100 for part in parts)
    assert " ".join(part.text for part in parts) == ("lorem ipsum " * 30).strip()


def test_jsonl_with_only_blank_lines_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text("\n\n  \n")

    [skip] = load_file(path)

    assert skip.reason == "no records found"


# CSV


def test_csv_rows_become_records_keyed_by_row_number(tmp_path: Path) -> None:
    path = tmp_path / "glossary.csv"
    path.write_text('id,text,topic\ng1,"Magma is molten rock, below ground.",volcanoes\n\ng2,Lava is magma above,geo\n')

    first, second = load_file(path)

    assert first.id == f"{source_of(path)}#row-1"
    assert first.text == "Magma is molten rock, below ground."
    assert first.metadata == {"id": "g1", "topic": "volcanoes", "type": "csv", "file_name": "glossary.csv"}
    assert second.id == f"{source_of(path)}#row-2"
    assert [record.id for record in load_file(path, LoadOptions(id_field="id"))] == [
        f"{source_of(path)}#g1",
        f"{source_of(path)}#g2",
    ]


def test_csv_row_with_a_missing_or_blank_cell_is_skipped_naming_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("topic,text\nbees,Bees make honey.\nshort-row\ntides,   \nsoil,Worms aerate soil.\n")

    items = list(load_file(path))

    assert [record.text for record in records(items)] == ["Bees make honey.", "Worms aerate soil."]
    assert [(skip.location, skip.reason) for skip in skips(items)] == [
        ("row 2", "field 'text' is null, not text"),
        ("row 3", "field 'text' holds only whitespace"),
    ]


def test_csv_without_the_text_column_is_skipped_once(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("term,definition\nmagma,molten rock\nlava,magma at the surface\n")

    [skip] = load_file(path)

    assert skip.source == source_of(path)
    assert "no column 'text'" in skip.reason and "term, definition" in skip.reason


def test_csv_field_of_200_000_characters_loads_as_one_record(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text('text,n\nfirst,1\n"' + "x" * 200_000 + '",2\nthird,3\n')

    first, wide, third = load_file(path)

    assert isinstance(wide, Record) and len(wide.text) == 200_000 and wide.id == f"{source_of(path)}#row-2"
    assert (first.text, third.text, third.id) == ("first", "third", f"{source_of(path)}#row-3")


def test_csv_line_or_field_over_the_bound_is_skipped_and_later_rows_keep_their_ids(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    multi_line = "\n".join(["y" * 60] * 5)
    path.write_text(f'text,n\nfirst,1\n{"x" * 500},2\nthird,3\n"{multi_line}",4\nfifth,5\n')

    # The csv module resumes after the field's limit, so the field's last line reads as a row of its own.
    first, long_line, third, long_field, *_, last = load_file(path, LoadOptions(max_line_chars=200))

    assert (first.text, third.id, last.text) == ("first", f"{source_of(path)}#row-3", "fifth")
    assert long_line == Skip(source_of(path), "line 3 is longer than 200 characters, not read", "row 2")
    assert long_field == Skip(source_of(path), "malformed CSV: field larger than field limit (200)", "row 4")


def test_csv_in_cp1252_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("text,city\nUn café à Paris,Zürich\n".encode("cp1252"))

    [record] = load_file(path)

    assert record.text == "Un café à Paris"
    assert record.metadata["city"] == "Zürich"


# Parquet


def test_parquet_rows_stream_in_batches_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    count = 20_000
    table = pa.table({"text": [f"row {n} " + "filler words " * 20 for n in range(count)], "n": list(range(count))})
    pq.write_table(table, path, row_group_size=1000, compression="none")
    del table

    peak = 0
    found = []
    for number, record in enumerate(load_file(path), start=1):
        peak = max(peak, pa.total_allocated_bytes())
        if number in (1, 1500, count):
            found.append(record)

    assert [record.id for record in found] == [f"{source_of(path)}#row-{n}" for n in (1, 1500, count)]
    assert found[1].text.startswith("row 1499 ")
    assert found[1].metadata == {"n": 1499, "type": "parquet", "file_name": "rows.parquet"}
    assert peak < path.stat().st_size / 4, "Arrow held most of the file at once"


def test_parquet_row_with_null_text_is_skipped_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"text": ["kept", None, "also kept"]}), path)

    items = list(load_file(path))

    assert [record.text for record in records(items)] == ["kept", "also kept"]
    assert skips(items) == [Skip(source_of(path), "field 'text' is null, not text", "row 2")]


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        (pa.table({"text": [1, 2]}), "column 'text' is int64, not strings"),
        (pa.table({"body": ["a", "b"]}), "no column 'text' (columns: body)"),
    ],
)
def test_parquet_without_a_text_column_of_strings_is_skipped_once(tmp_path: Path, table: pa.Table, reason: str) -> None:
    path = tmp_path / "odd.parquet"
    pq.write_table(table, path)

    assert list(load_file(path)) == [Skip(source_of(path), reason)]


def test_corrupt_parquet_is_skipped_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(b"PAR1" + random.Random(5).randbytes(500))

    [skip] = load_file(path)

    assert skip.source == source_of(path)
    assert "not a readable Parquet file" in skip.reason


# Hostile input (issue 13): every error while reading a file or record is a named skip, never a crash.


def test_jsonl_line_nested_too_deeply_is_a_skip_and_the_other_lines_load(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    deep = '{"text": "fine", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    write_jsonl(path, [{"text": "before"}, deep, {"text": "after"}])

    before, skip, after = load_file(path)

    assert (before.text, after.text, after.id) == ("before", "after", f"{source_of(path)}#L3")
    assert skip == Skip(source_of(path), "cannot read the record (nested too deeply to parse)", "line 2")


def test_jsonl_huge_integer_and_lone_surrogates_load_as_valid_text(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    first_line = f'{{"text": "big number", "n": {"9" * 5000}, "m": {2**70}, "nan": NaN}}'
    path.write_text(first_line + '\n{"text": "lone \\ud800", "k\\udfff": "v\\udc00"}\n')

    first, second = load_file(path)

    assert first.metadata == {"type": "jsonl", "file_name": "odd.jsonl"}  # no store holds those numbers
    assert second.text == "lone \ufffd" and second.metadata["k\ufffd"] == "v\ufffd"
    for record in (first, second):
        (record.id + record.text + json.dumps(record.metadata, ensure_ascii=False)).encode("utf-8")


def test_jsonl_line_over_the_bound_is_skipped_without_being_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    write_jsonl(path, [{"text": "short"}, {"text": "x" * 5000}, {"text": "after"}])

    short, skip, after = load_file(path, LoadOptions(max_line_chars=1000))

    assert (short.text, after.id) == ("short", f"{source_of(path)}#L3")
    assert skip == Skip(source_of(path), "line longer than 1,000 bytes, not read", "line 2")


def test_jsonl_with_a_byte_order_mark_and_nul_bytes_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "with\\u0000 nul"}\n{"text": "raw \x00 byte"}\n')

    items = list(load_file(path))

    assert [item.text for item in records(items)] == ["with nul"] and len(skips(items)) == 1
    assert skips(items)[0].location == "line 2" and "malformed JSON" in skips(items)[0].reason


def test_file_deleted_between_discovery_and_reading_is_a_skip(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("kept")
    (tmp_path / "b.txt").write_text("gone soon")
    first, second = discover(tmp_path)
    (tmp_path / "b.txt").unlink()

    items = [*load_file(first), *load_file(second)]  # type: ignore[arg-type]

    assert items[0].text == "kept"
    assert items[1] == Skip(source_of(tmp_path / "b.txt"), "cannot read the file (No such file or directory)")


def test_a_loader_error_mid_file_keeps_the_records_read_before_it(tmp_path: Path) -> None:
    path = tmp_path / "grows.txt"
    path.write_text("a" * 10 + " " + "b" * 10)

    # A file that changes under the reader: the second part's read fails, the first part is already out.
    items = load_file(path, LoadOptions(max_record_chars=12))
    first = next(items)
    path.unlink()
    path.mkdir()

    assert first.text == "a" * 10 and all(isinstance(item, Record | Skip) for item in items)


def test_file_names_that_are_not_utf8_become_printable_stable_sources(tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"bad_\xff\xfe.txt")
    path.write_text("content is fine")

    [record] = load_file(path)
    [found] = discover(tmp_path)

    assert record.source == f"{tmp_path.resolve().as_posix()}/bad_\\xff\\xfe.txt" == record.id
    assert record.metadata["file_name"] == "bad_\\xff\\xfe.txt" and source_name(found) == record.source
    record.source.encode("utf-8")


def test_discovery_names_links_pipes_and_devices_instead_of_dropping_them(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_text("# Real")
    (tmp_path / "loop").symlink_to(tmp_path)
    (tmp_path / "elsewhere").symlink_to(tmp_path.parent)
    (tmp_path / "x.txt").symlink_to(tmp_path / "y.txt")
    (tmp_path / "y.txt").symlink_to(tmp_path / "x.txt")
    (tmp_path / "broken.md").symlink_to(tmp_path / "missing.md")
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "folder.txt" / "inner.md").write_text("inner")

    found = list(discover(tmp_path))

    files = [entry.name for entry in found if isinstance(entry, Path)]
    reasons = {Path(entry.source).name: entry.reason for entry in found if isinstance(entry, Skip)}
    assert files == ["inner.md", "real.md"]
    assert reasons["loop"].startswith("symbolic link loop: points back to") and "not followed" in reasons["elsewhere"]
    assert reasons["x.txt"] == reasons["y.txt"] == "symbolic link loop"
    assert reasons["broken.md"].startswith("broken symbolic link")
    assert reasons["zero.txt"] == "not a regular file: a character device"
    assert reasons["pipe.txt"] == "not a regular file: a named pipe"


def test_discovery_of_a_very_deep_tree_does_not_recurse(tmp_path: Path) -> None:
    folder = tmp_path
    for _ in range(1100):  # deeper than Python's recursion limit
        folder = folder / "d"
        folder.mkdir()
    (folder / "leaf.txt").write_text("deep")

    try:
        [leaf] = discover(tmp_path)
    finally:  # bottom up: shutil.rmtree recurses once per level
        (folder / "leaf.txt").unlink()
        while folder != tmp_path:
            folder.rmdir()
            folder = folder.parent

    assert isinstance(leaf, Path) and leaf.name == "leaf.txt"


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists folders whatever their mode")
def test_a_folder_that_cannot_be_listed_is_a_named_skip(tmp_path: Path) -> None:
    (tmp_path / "open.md").write_text("open")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked").chmod(0)
    try:
        found = list(discover(tmp_path))
    finally:
        (tmp_path / "locked").chmod(0o755)

    assert isinstance(found[0], Skip) and found[0].source == source_of(tmp_path / "locked")
    assert "cannot list the folder" in found[0].reason and found[1] == (tmp_path / "open.md").resolve()


def test_parquet_with_nested_columns_loads_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    table = pa.table(
        {
            "text": ["one", "two"],
            "tags": [["a", "b"], []],
            "meta": [{"x": 1, "y": [1, 2]}, None],
            "scores": pa.array([{"k": 1.0}, {}], type=pa.map_(pa.string(), pa.float64())),
            "n": [1, 2],
        }
    )
    pq.write_table(table, path, row_group_size=1)

    one, two = load_file(path)

    assert (one.text, two.text) == ("one", "two") and one.metadata["n"] == 1 and "tags" not in one.metadata


def test_markdown_heading_built_to_backtrack_is_read_in_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "heading.md"
    path.write_text("# " + " #" * 200_000 + "x\n\nbody")

    [record] = load_file(path)

    assert len(record.metadata["title"]) <= 500


def _hostile_bytes(draw_bytes: bytes, kind: str) -> bytes:
    """Valid content of `kind`, cut short, then random bytes after it: the shapes a broken file takes."""
    good = {
        ".jsonl": b'{"text": "alpha"}\n{"text": "beta", "n": 1}\n',
        ".csv": b"text,n\nalpha,1\nbeta,2\n",
        ".txt": b"plain words\n",
        ".md": b"# Title\n\nbody\n",
        ".pdf": make_pdf(["page one", "page two"]),
        ".parquet": _parquet_bytes(),
    }[kind]
    cut = draw_bytes[0] * len(good) // 256 if draw_bytes else len(good)
    return good[:cut] + draw_bytes[1:]


def _parquet_bytes() -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"text": ["alpha", "beta"], "n": [1, 2]}), sink, row_group_size=1)
    return sink.getvalue().to_pybytes()


def _nested_json(depth: int, width: int) -> str:
    value: object = "leaf"
    for level in range(depth):
        value = [value] * width if level % 8 == 0 else {"k": value}
    return json.dumps({"text": "nested", "x": value})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from([".jsonl", ".csv", ".txt", ".md", ".pdf", ".parquet"]),
    data=st.binary(max_size=300),
    nesting=st.integers(min_value=0, max_value=3000),
)
def test_any_bytes_truncation_or_nesting_either_loads_or_becomes_a_named_skip(
    kind: str, data: bytes, nesting: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{kind}"
        content = _hostile_bytes(data, kind)
        if kind == ".jsonl" and nesting:
            content += ("[" * nesting + "]" * nesting + "\n" + _nested_json(nesting % 40, 2) + "\n").encode()
        path.write_bytes(content)

        items = list(load_file(path))

        assert items, "a file always gives a record or a skip"
        for item in items:
            assert isinstance(item, Record | Skip)
            assert item.source == source_of(path)
            if isinstance(item, Record):
                assert item.text.strip() and item.id.startswith(item.source)
                (item.text + json.dumps(item.metadata, ensure_ascii=False)).encode("utf-8")  # every store can hold it
            else:
                assert item.reason and len(str(item)) < 400 + len(item.source)


def test_text_mixing_utf8_and_cp1252_bytes_decodes_both_parts(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes("café ".encode() + "naïve".encode("cp1252") + " €".encode())

    [record] = load_file(path)

    assert record.text == "café naïve €"


def test_compressed_file_named_jsonl_is_one_skip_not_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(gzip.compress(b"\n".join(json.dumps({"text": f"row {n}"}).encode() for n in range(2000))))

    assert list(load_file(path)) == [
        Skip(source_of(path), "binary content, not JSON Lines text (compressed? is the file extension right?)")
    ]


def test_damaged_parquet_row_group_is_named_and_the_others_load(tmp_path: Path) -> None:
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"text": [f"row {n} " * 40 for n in range(300)]}), path, row_group_size=100)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(byte ^ 0xFF for byte in data[middle : middle + 200])
    path.write_bytes(bytes(data))

    items = list(load_file(path))

    assert len(records(items)) >= 100 and records(items)[0].id == f"{source_of(path)}#row-1"
    assert skips(items) and all("damaged Parquet data in row group" in skip.reason for skip in skips(items))
    assert all(skip.location and skip.location.startswith("rows ") for skip in skips(items))
