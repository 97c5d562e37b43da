"""Batches respect the atom budget and shrink on out-of-memory until a single structure does not fit."""

import pytest

from aiida_unconmlip.engine.batching import plan_batches, run_in_batches
from aiida_unconmlip.engine.errors import OutOfMemory
from aiida_unconmlip.engine.potentials import BatchTooLarge


def test_plan_batches_respects_the_budget_and_keeps_order():
    batches = plan_batches([4, 4, 4, 10, 2, 2], max_atoms=8)
    assert batches == [[0, 1], [2], [3], [4, 5]]


def device_with_capacity(capacity: int):
    """A predict function that fails like a GPU when a batch holds more than ``capacity`` atoms."""

    def predict(batch):
        if sum(batch) > capacity:
            raise BatchTooLarge('CUDA out of memory')
        return [size * 10 for size in batch]

    return predict


def test_out_of_memory_halves_the_batch_and_still_returns_everything_in_order():
    sizes = [3, 5, 2, 7, 1, 4]
    results = [None] * len(sizes)

    def keep(batch, predictions):
        for index, prediction in zip(batch, predictions, strict=True):
            results[index] = prediction

    stats = run_in_batches(device_with_capacity(8), sizes, sizes, 100, keep)
    assert results == [size * 10 for size in sizes]
    assert stats.splits_after_out_of_memory >= 1
    assert max(stats.batch_atoms) <= 8


def test_a_single_structure_too_large_is_a_distinct_error():
    with pytest.raises(OutOfMemory, match='single structure of 9 atoms'):
        run_in_batches(device_with_capacity(8), [9], [9], 100, lambda batch, predictions: None)
