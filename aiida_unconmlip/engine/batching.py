"""Group structures into forward calls and run them: the atom budget of a call, calls side by side where the backend
serves several at once, and a call that does not fit the device split.

On a GPU the larger the call the better until memory runs out (the out-of-memory split handles that), so one budget
holds. On the CPU the time per structure has a minimum at a few structures per call, and where it lies depends on the
model and the size of the structures (``benchmarks/batch_size.py``: for the default PET, 8-atom cells are cheapest
16 to a call, 64-atom cells one or two, 216-atom cells one, and 16 64-atom cells in one call cost three times more
per cell than one): :class:`BudgetTuner` finds it by measurement, on the job's own structures.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from .errors import OutOfMemory
from .potentials.base import BatchTooLarge, OverlappingAtoms

# The atom budget of a forward call on a GPU; ``None`` on the CPU: found per structure size by :class:`BudgetTuner`.
ATOMS_PER_BATCH = {'cpu': None, 'cuda': 8192}
CPU_LARGEST_BATCH = 1024  # atoms: the tuner stops doubling here


def default_atoms_per_batch(device: str) -> int | None:
    """The atom budget of one forward call on ``device`` (``cuda:1`` counts as ``cuda``); None: measured."""
    return ATOMS_PER_BATCH.get(device.split(':')[0])


@dataclass
class _SizeTrials:
    """Seconds per structure measured at each number of structures per call, for one structure size."""

    per_call: int = 1
    settled: bool = False
    seconds: dict[int, list[float]] = field(default_factory=dict)


class BudgetTuner:
    """Structures per forward call for each structure size, chosen by measurement.

    Start at one structure per call; after :attr:`SAMPLES` calls at a count, double it while the time per structure
    fell by more than :attr:`MIN_GAIN` against half as many, up to ``largest_batch`` atoms; then keep the best count
    seen. A count is judged by its fastest call, as benchmarks are: the first call of a fresh copy of the model and
    calls slowed by other work on the machine do not decide. Every trial call evaluates real structures of the job,
    so finding the budget costs no extra model calls. A tuner kept with a loaded model carries what it learned to
    the next job.
    """

    SAMPLES = 3
    MIN_GAIN = 0.05

    def __init__(self, largest_batch: int = CPU_LARGEST_BATCH):
        self.largest_batch = largest_batch
        self._trials: dict[int, _SizeTrials] = {}

    def budget(self, size: int) -> int:
        """The atom budget of the next call whose first structure has ``size`` atoms."""
        return self._trials.setdefault(size, _SizeTrials()).per_call * size

    def record(self, size: int, structures: int, seconds: float) -> None:
        """Time of a call of ``structures`` structures of ``size`` atoms; may move the budget of that size on."""
        trials = self._trials.setdefault(size, _SizeTrials())
        if trials.settled or structures != trials.per_call:
            return
        samples = trials.seconds.setdefault(structures, [])
        samples.append(seconds / structures)
        if len(samples) < self.SAMPLES:
            return
        best = {count: min(values) for count, values in trials.seconds.items()}
        previous = best.get(structures // 2)
        improving = previous is None or best[structures] < (1 - self.MIN_GAIN) * previous
        if improving and 2 * structures * size <= self.largest_batch:
            trials.per_call = 2 * structures
        else:
            trials.per_call, trials.settled = min(best, key=best.get), True

    def chosen(self, sizes: set[int]) -> dict[int, int]:
        """Structures per call for each of ``sizes`` (``{atoms: structures}``), for the timing report."""
        return {size: self._trials[size].per_call for size in sorted(sizes) if size in self._trials}


@dataclass
class BatchStatistics:
    """How the work was cut, for the timing report. ``model_seconds`` is the wall time of the calls' loop less the
    time spent handing results on."""

    batches: int = 0
    splits_after_out_of_memory: int = 0
    final_max_atoms: int | None = None
    model_seconds: float = 0.0
    concurrent_calls: int = 1
    batch_atoms: list[int] = field(default_factory=list)


class _Queue:
    """The indices still to evaluate, cut into calls by a fixed budget, the tuner's, and any out-of-memory cap."""

    def __init__(self, sizes: Sequence[int], max_atoms: int | None, tuner: BudgetTuner | None):
        if max_atoms is None and tuner is None:
            raise ValueError('give an atom budget or a tuner')
        self.sizes, self.max_atoms, self.tuner = sizes, max_atoms, tuner
        self.cap: int | None = None  # after an out-of-memory split
        self.pending = deque(range(len(sizes)))

    def next_batch(self) -> list[int]:
        first = self.pending[0]
        budget = self.max_atoms if self.max_atoms is not None else self.tuner.budget(self.sizes[first])
        if self.cap is not None:
            budget = min(budget, self.cap)
        batch, atoms = [], 0
        while self.pending and (not batch or atoms + self.sizes[self.pending[0]] <= budget):
            atoms += self.sizes[self.pending[0]]
            batch.append(self.pending.popleft())
        return batch

    def put_back(self, batch: list[int]) -> None:
        self.pending.extendleft(reversed(batch))


def run_in_batches(
    predict: Callable[[list], list],
    items: Sequence,
    sizes: Sequence[int],
    max_atoms: int | None,
    on_batch: Callable[[list[int], list], None],
    concurrent_calls: int = 1,
    tuner: BudgetTuner | None = None,
) -> BatchStatistics:
    """Call ``predict`` on batches of ``items`` and hand each batch's indices and predictions to ``on_batch`` (in the
    calling thread, in the order the calls finish); on out-of-memory halve the atom budget and retry what is left.

    Batches hold at most ``max_atoms`` atoms, or what ``tuner`` measures best when ``max_atoms`` is None. With
    ``concurrent_calls`` > 1, that many calls run at once in threads (``predict`` must allow it).
    Fails with :class:`OutOfMemory` only when a single structure does not fit; :class:`OverlappingAtoms` from the
    backend is passed on with the index of the item in ``items``.
    """
    stats = BatchStatistics(final_max_atoms=max_atoms, concurrent_calls=concurrent_calls)
    queue = _Queue(sizes, max_atoms, tuner)

    def timed_call(batch: list[int]) -> tuple[list, float]:
        start = time.perf_counter()
        predictions = predict([items[i] for i in batch])
        return predictions, time.perf_counter() - start

    def finish(batch: list[int], call: Future) -> None:
        try:
            predictions, seconds = call.result()
        except OverlappingAtoms as exc:
            raise OverlappingAtoms(batch[exc.position], exc.first, exc.second, exc.distance) from exc
        except BatchTooLarge as exc:
            if len(batch) == 1:
                raise OutOfMemory(
                    f'a single structure of {sizes[batch[0]]} atoms does not fit in device memory: {exc}'
                ) from exc
            stats.splits_after_out_of_memory += 1
            queue.cap = stats.final_max_atoms = max(1, sum(sizes[i] for i in batch) // 2)
            queue.put_back(batch)
            return
        if tuner is not None and len({sizes[i] for i in batch}) == 1:
            tuner.record(sizes[batch[0]], len(batch), seconds)
        stats.batches += 1
        stats.batch_atoms.append(sum(sizes[i] for i in batch))
        on_batch(batch, predictions)

    start = time.perf_counter()
    handing_on = 0.0
    with ThreadPoolExecutor(concurrent_calls) if concurrent_calls > 1 else _InlineExecutor() as executor:
        running: dict[Future, list[int]] = {}
        try:
            while queue.pending or running:
                while queue.pending and len(running) < concurrent_calls:
                    batch = queue.next_batch()
                    running[executor.submit(timed_call, batch)] = batch
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for call in done:
                    begin = time.perf_counter()
                    finish(running.pop(call), call)
                    handing_on += time.perf_counter() - begin
        finally:
            for call in running:
                call.cancel()
    stats.model_seconds = time.perf_counter() - start - handing_on
    return stats


class _InlineExecutor:
    """One call at a time in the calling thread, behind the executor interface (no thread where none helps)."""

    def submit(self, function: Callable, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:  # handed to the caller through the future, as from a thread
            future.set_exception(exc)
        return future

    def __enter__(self) -> _InlineExecutor:
        return self

    def __exit__(self, *_) -> None:
        return None
