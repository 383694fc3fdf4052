"""Count the hostile corpus by class: `python tests/hostile/count.py` (collects, runs nothing)."""

from __future__ import annotations

import collections
import sys

import pytest


class _Tally:
    def __init__(self) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            mark = item.get_closest_marker("hostile")
            if mark is not None:
                self.kinds[mark.args[0]] += 1


if __name__ == "__main__":
    tally = _Tally()
    pytest.main(["tests/hostile", "--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[tally])
    for kind, n in sorted(tally.kinds.items()):
        print(f"{kind:24s} {n:4d}")
    print(f"{'total':24s} {sum(tally.kinds.values()):4d}")
    sys.exit(0)
