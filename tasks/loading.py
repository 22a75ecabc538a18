"""Task: read the files of a path into records, listing every file that had to be skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync.records import Record, Skip
from vectorsync.sources import LoadOptions, discover, load_file, source_name


@dataclass
class LoadedDocuments:
    """Records read from a path, the files found there, and what was skipped with why."""

    records: list[Record] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@task(
    name="load-documents",
    task_run_name="load-{path}",
    retries=2,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def load_documents(path: str, options: LoadOptions) -> LoadedDocuments:
    """Load every supported file under `path`; bad files and records are skipped, not fatal."""
    logger = get_run_logger()
    loaded = LoadedDocuments()
    for file in discover(path):
        if isinstance(file, Skip):
            logger.warning("skipped %s", file)
            loaded.skips.append(file)
            continue
        loaded.files.append(source_name(file))
        for item in load_file(file, options):
            if isinstance(item, Skip):
                logger.warning("skipped %s", item)
                loaded.skips.append(item)
            else:
                loaded.records.append(item)
    logger.info(
        "loaded %d records from %d files (%d skipped)", len(loaded.records), len(loaded.files), len(loaded.skips)
    )
    return loaded
