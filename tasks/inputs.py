"""Task inputs handed over as they are, so Prefect does not walk them per task run."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from prefect.utilities.annotations import quote

T = TypeVar("T")


class _Quoted(quote):
    """Prefect's `quote`, made to survive pickling into a Dask worker: Prefect's own comes back wrapped in a tuple."""

    __slots__ = ()

    def __reduce__(self) -> tuple[type[_Quoted], tuple[Any]]:
        return type(self), (self.unwrap(),)


def as_is(value: T) -> T:
    """`value` for a task parameter, unwalked: Prefect otherwise visits (and rebuilds) every record or chunk in it
    looking for futures, which cost a quarter of a run's time at 1,024 chunks per task. The task receives `value`.
    """
    return cast(T, _Quoted(value))
