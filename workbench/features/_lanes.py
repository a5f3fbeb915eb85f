"""Running the feature kernels of one batch on more than one core. The numba kernels release the GIL,
families share no state, and a per-ticker family touches only its own tickers' state, so a batch
splits into (family, ticker range) tasks that advance side by side on a few threads."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

#: below this many rows a batch runs on the calling thread (handing work over costs ~20-50 us)
PARALLEL_MIN_ROWS = 1000

Task = tuple[Hashable, Callable[[], None]]


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) - 1), thread_name_prefix="wb-kernels")


def default_threads() -> int:
    """Threads for one engine: two where the machine has them (the live scorer's other work is I/O)."""
    return min(2, os.cpu_count() or 1)


class KernelLanes:
    """Runs keyed tasks on up to ``threads`` lanes, balanced by each key's measured run time
    (longest first onto the least-loaded lane), re-planned on every call."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, int(threads))
        self.cost: dict[Hashable, float] = {}  # smoothed seconds per task key

    def run(self, tasks: Sequence[Task]) -> None:
        """Run every task once; exceptions propagate to the caller."""
        if self.threads == 1 or len(tasks) < 2:
            self._lane(tasks)
            return
        lanes = self._plan(tasks)
        others = [_pool().submit(self._lane, lane) for lane in lanes[1:] if lane]
        self._lane(lanes[0])
        for future in others:
            future.result()

    def _plan(self, tasks: Sequence[Task]) -> list[list[Task]]:
        known = [self.cost[key] for key, _ in tasks if key in self.cost]
        prior = sum(known) / len(known) if known else 1.0
        ranked = sorted(tasks, key=lambda task: -self.cost.get(task[0], prior))
        lanes: list[list[Task]] = [[] for _ in range(self.threads)]
        load = [0.0] * self.threads
        for task in ranked:
            lane = load.index(min(load))
            lanes[lane].append(task)
            load[lane] += self.cost.get(task[0], prior)
        return lanes

    def _lane(self, tasks: Sequence[Task]) -> None:
        for key, task in tasks:
            started = time.perf_counter()
            task()
            spent = time.perf_counter() - started
            previous = self.cost.get(key)
            self.cost[key] = spent if previous is None else 0.8 * previous + 0.2 * spent
