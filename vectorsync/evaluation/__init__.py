"""Retrieval evaluation on labelled BEIR-format sets, scored by trec_eval's implementation like BEIR and MTEB."""

from __future__ import annotations

from vectorsync.evaluation.beir import BeirDataset, load_dataset
from vectorsync.evaluation.gate import check_floor, on_table
from vectorsync.evaluation.metrics import METRICS, score_run
from vectorsync.evaluation.references import Reference, published_reference
from vectorsync.evaluation.run import Retrieval, evaluate_store, retrieve

__all__ = [
    "METRICS",
    "BeirDataset",
    "Reference",
    "Retrieval",
    "check_floor",
    "evaluate_store",
    "load_dataset",
    "on_table",
    "published_reference",
    "retrieve",
    "score_run",
]
