"""Group structures into batches by an atom budget, and split a batch that does not fit on the device."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import OutOfMemory
from .potentials.base import BatchTooLarge, OverlappingAtoms

# Atoms per forward call where the time per structure is lowest, per device (benchmarks/batch_size.py measured the
# CPU; on a GPU the larger the batch the better until memory runs out, which the out-of-memory split handles).
ATOMS_PER_BATCH = {'cpu': 128, 'cuda': 8192}


def default_atoms_per_batch(device: str) -> int:
    """The atom budget of one forward call on ``device`` (``cuda:1`` counts as ``cuda``)."""
    return ATOMS_PER_BATCH.get(device.split(':')[0], ATOMS_PER_BATCH['cpu'])


def plan_batches(sizes: Sequence[int], max_atoms: int) -> list[list[int]]:
    """Consecutive groups of indices whose atom counts add up to at most ``max_atoms`` (a larger structure alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    atoms_in_current = 0
    for index, size in enumerate(sizes):
        if current and atoms_in_current + size > max_atoms:
            batches.append(current)
            current, atoms_in_current = [], 0
        current.append(index)
        atoms_in_current += size
    if current:
        batches.append(current)
    return batches


@dataclass
class BatchStatistics:
    """How the work was cut, for the timing report."""

    batches: int = 0
    splits_after_out_of_memory: int = 0
    final_max_atoms: int = 0
    model_seconds: float = 0.0
    batch_atoms: list[int] = field(default_factory=list)


def run_in_batches(
    predict: Callable[[list], list],
    items: Sequence,
    sizes: Sequence[int],
    max_atoms: int,
    on_batch: Callable[[list[int], list], None],
) -> BatchStatistics:
    """Call ``predict`` on batches of ``items`` and hand each batch's indices and predictions to ``on_batch``; on
    out-of-memory halve the atom budget and retry what is left.

    Fails with :class:`OutOfMemory` only when a single structure does not fit; :class:`OverlappingAtoms` from the
    backend is passed on with the index of the item in ``items``.
    """
    stats = BatchStatistics(final_max_atoms=max_atoms)
    pending = plan_batches(sizes, max_atoms)
    while pending:
        batch = pending.pop(0)
        start = time.perf_counter()
        try:
            predictions = predict([items[i] for i in batch])
        except OverlappingAtoms as exc:
            raise OverlappingAtoms(batch[exc.position], exc.first, exc.second, exc.distance) from exc
        except BatchTooLarge as exc:
            if len(batch) == 1:
                raise OutOfMemory(
                    f'a single structure of {sizes[batch[0]]} atoms does not fit in device memory: {exc}'
                ) from exc
            stats.splits_after_out_of_memory += 1
            stats.final_max_atoms = max(1, sum(sizes[i] for i in batch) // 2)
            remaining = batch + [i for later in pending for i in later]
            pending = [
                [remaining[j] for j in group]
                for group in plan_batches([sizes[i] for i in remaining], stats.final_max_atoms)
            ]
            continue
        stats.model_seconds += time.perf_counter() - start
        stats.batches += 1
        stats.batch_atoms.append(sum(sizes[i] for i in batch))
        on_batch(batch, predictions)
    return stats
