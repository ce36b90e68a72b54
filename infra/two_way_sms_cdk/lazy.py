"""Lists that are read at synth, after every construct had its say (grants add to them)."""

from __future__ import annotations

from collections.abc import Callable

import jsii
from aws_cdk import IStableListProducer, Lazy


@jsii.implements(IStableListProducer)
class _Produce:
    def __init__(self, produce: Callable[[], list[str]]) -> None:
        self._produce = produce

    def produce(self) -> list[str]:
        return self._produce()


def lazy_list(produce: Callable[[], list[str]]) -> list[str]:
    """A list token whose value ``produce`` returns at synth (it must not be empty)."""
    return Lazy.list(_Produce(produce))
