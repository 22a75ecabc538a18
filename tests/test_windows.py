"""Reading in windows: every record once, in order, the first windows small so the model starts at once."""

from __future__ import annotations

import json

from vectorsync.sources import LoadOptions
from vectorsync.windows import FIRST_WINDOW_RECORDS, read_windows


def write_records(path, count: int) -> None:
    path.write_text("".join(json.dumps({"id": f"r{n}", "text": f"record number {n}"}) + "\n" for n in range(count)))


def test_windows_start_small_and_double_up_to_the_window_size(tmp_path):
    write_records(tmp_path / "a.jsonl", 1000)
    windows = list(read_windows(tmp_path, LoadOptions(id_field="id"), max_records=300))
    sizes = [len(window.records) for window in windows]
    assert sizes[:3] == [FIRST_WINDOW_RECORDS, 2 * FIRST_WINDOW_RECORDS, 4 * FIRST_WINDOW_RECORDS]
    assert max(sizes) == 300 and sum(sizes) == 1000
    assert [record.id.rsplit("#", 1)[1] for window in windows for record in window.records] == [
        f"r{n}" for n in range(1000)
    ]
    assert [window.number for window in windows] == list(range(1, len(windows) + 1))


def test_a_window_size_below_the_first_window_is_kept(tmp_path):
    write_records(tmp_path / "a.jsonl", 10)
    windows = list(read_windows(tmp_path, LoadOptions(id_field="id"), max_records=3))
    assert [len(window.records) for window in windows] == [3, 3, 3, 1]
    assert windows[0].files == [str((tmp_path / "a.jsonl").resolve())] and not windows[1].files
