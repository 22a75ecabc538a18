"""Scale-out: the new-data flow on a Dask LocalCluster of two workers stores what the default thread runner stores."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO
from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

import vectorsync.embedders as embedders
from deployments.scale_out import dask_task_runner
from flows.embed_new_data import embed_new_data
from vectorsync.jobs import EmbedNewData
from vectorsync.settings import Settings
from vectorsync.stores import open_store

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


def stored_vectors(settings: Settings) -> dict[str, np.ndarray]:
    with open_store(settings) as store:
        return {chunk_id: store.get_vector(chunk_id) for chunk_id in store.fingerprints(store.documents())}


def test_dask_runner_stores_the_same_ids_and_vectors_as_the_default_runner(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_TASK_BATCH_SIZE", "32")  # four batches of the sample corpus, for two workers
    sample = str(REPO / "examples" / "docs")
    local, on_dask = (
        EmbedNewData(path=sample, data_dir=tmp_path / "threads"),
        EmbedNewData(path=sample, data_dir=tmp_path / "dask"),
    )
    with temporary_settings({PREFECT_TASKS_REFRESH_CACHE: True}):  # both runs embed, neither reads the other's cache
        threads = embed_new_data(local)
        monkeypatch.setattr(embedders, "_shared", {})  # no model in this process: only the workers may load one
        dask = embed_new_data.with_options(task_runner=dask_task_runner(workers=2))(on_dask)

    assert threads["embedded"] == dask["embedded"] == 120 and dask["completed"]
    assert dask["model_loaded"] is False, "the batches were embedded on the Dask workers, not in the flow's process"
    expected, got = stored_vectors(local.settings()), stored_vectors(on_dask.settings())
    assert sorted(got) == sorted(expected)
    for chunk_id, vector in expected.items():
        np.testing.assert_allclose(got[chunk_id], vector, rtol=0, atol=1e-6, err_msg=chunk_id)
