"""Bulk task inputs reach the task whole, in this process or pickled into a Dask worker (tasks/inputs.py)."""

from __future__ import annotations

import pickle

import pytest
from prefect import flow, task

from tasks.inputs import as_is
from vectorsync.records import Record

RECORDS = [Record(id=f"doc-{n}", text=f"text {n}", source="a.jsonl") for n in range(3)]


@task
def count_texts(records: list[Record]) -> list[str]:
    return [record.text for record in records]


@flow
def hand_over() -> list[str]:
    return count_texts.submit(as_is(RECORDS)).result()


@pytest.mark.usefixtures("prefect_harness")
def test_a_task_receives_the_records_themselves():
    assert hand_over() == ["text 0", "text 1", "text 2"]


def test_the_records_survive_pickling_into_a_worker():
    value = pickle.loads(pickle.dumps(as_is(RECORDS)))
    assert value.unwrap() == RECORDS, "Prefect's own quote() comes back wrapped in a tuple"
