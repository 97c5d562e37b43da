"""Batches respect the atom budget, shrink on out-of-memory until a single structure does not fit, run side by side
where the backend allows, and take the size the tuner measured fastest."""

import threading
import time

import pytest

from aiida_unconmlip.engine.batching import BudgetTuner, run_in_batches
from aiida_unconmlip.engine.errors import OutOfMemory
from aiida_unconmlip.engine.potentials import BatchTooLarge


def test_batches_respect_the_budget_and_keep_order():
    sizes = [4, 4, 4, 10, 2, 2]
    batches = []
    run_in_batches(lambda batch: batch, sizes, sizes, 8, lambda batch, predictions: batches.append(batch))
    assert batches == [[0, 1], [2], [3], [4, 5]]  # a structure above the budget goes alone


def device_with_capacity(capacity: int):
    """A predict function that fails like a GPU when a batch holds more than ``capacity`` atoms."""

    def predict(batch):
        if sum(batch) > capacity:
            raise BatchTooLarge('CUDA out of memory')
        return [size * 10 for size in batch]

    return predict


def collector(count: int):
    """A list of ``count`` results and the ``on_batch`` callback that fills it by index."""
    results = [None] * count

    def keep(batch, predictions):
        for index, prediction in zip(batch, predictions, strict=True):
            results[index] = prediction

    return results, keep


def test_out_of_memory_halves_the_batch_and_still_returns_everything_in_order():
    sizes = [3, 5, 2, 7, 1, 4]
    results, keep = collector(len(sizes))

    stats = run_in_batches(device_with_capacity(8), sizes, sizes, 100, keep)
    assert results == [size * 10 for size in sizes]
    assert stats.splits_after_out_of_memory >= 1
    assert max(stats.batch_atoms) <= 8


def test_a_single_structure_too_large_is_a_distinct_error():
    with pytest.raises(OutOfMemory, match='single structure of 9 atoms'):
        run_in_batches(device_with_capacity(8), [9], [9], 100, lambda batch, predictions: None)


def test_concurrent_calls_return_every_prediction_to_its_structure():
    sizes = [3, 5, 2, 7, 1, 4, 6, 2]
    results, keep = collector(len(sizes))
    threads = set()

    def predict(batch):
        threads.add(threading.get_ident())
        time.sleep(0.01)  # long enough for the second call to start
        return [size * 10 for size in batch]

    stats = run_in_batches(predict, sizes, sizes, 8, keep, concurrent_calls=2)
    assert results == [size * 10 for size in sizes]
    assert stats.concurrent_calls == 2 and len(threads) == 2
    assert sum(stats.batch_atoms) == sum(sizes) and max(stats.batch_atoms) <= 8


def test_out_of_memory_with_concurrent_calls_still_returns_everything():
    sizes = [3, 5, 2, 7, 1, 4]
    results, keep = collector(len(sizes))

    stats = run_in_batches(device_with_capacity(8), sizes, sizes, 100, keep, concurrent_calls=2)
    assert results == [size * 10 for size in sizes]
    assert stats.splits_after_out_of_memory >= 1


def seconds_per_call(cost_per_structure: dict[int, float]):
    """A call's seconds when structures per call buy the given cost per structure."""
    return lambda structures: structures * cost_per_structure[structures]


def feed(tuner: BudgetTuner, size: int, seconds, calls: int) -> list[int]:
    """The structures per call the tuner asks for over ``calls`` calls."""
    asked = []
    for _ in range(calls):
        per_call = tuner.budget(size) // size
        asked.append(per_call)
        tuner.record(size, per_call, seconds(per_call))
    return asked


def test_tuner_doubles_while_calls_get_cheaper_per_structure_and_keeps_the_best():
    tuner = BudgetTuner(largest_batch=1024)
    cost = seconds_per_call({1: 10.0, 2: 6.0, 4: 5.0, 8: 5.1, 16: 9.0})
    assert feed(tuner, 64, cost, 14) == [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8, 4, 4]
    assert tuner.chosen({64}) == {64: 4}


def test_tuner_judges_a_count_by_its_fastest_call():
    tuner = BudgetTuner(largest_batch=1024)
    for seconds in (30.0, 10.0, 10.0):  # the first call of a fresh copy of the model is slow
        tuner.record(64, 1, seconds)
    for seconds in (20.4, 20.8, 40.0):  # no faster per structure, one call slowed by other work
        tuner.record(64, 2, seconds)
    assert tuner.chosen({64}) == {64: 1}


def test_tuner_stops_at_the_largest_batch_and_keeps_each_size_apart():
    tuner = BudgetTuner(largest_batch=256)
    cheaper = seconds_per_call({1: 8.0, 2: 4.0, 4: 2.0, 8: 1.0})
    assert feed(tuner, 64, cheaper, 11) == [1, 1, 1, 2, 2, 2, 4, 4, 4, 4, 4]  # 8 x 64 atoms would pass 256
    assert feed(tuner, 8, seconds_per_call({1: 1.0, 2: 2.0}), 7) == [1, 1, 1, 2, 2, 2, 1]
    assert tuner.chosen({8, 64, 216}) == {8: 1, 64: 4}


def test_tuned_batches_cover_every_structure_once():
    sizes = [64] * 20
    seen = []
    tuner = BudgetTuner(largest_batch=1024)

    def keep(batch, predictions):
        seen.extend(batch)

    stats = run_in_batches(lambda batch: [None] * len(batch), sizes, sizes, None, keep, tuner=tuner)
    assert sorted(seen) == list(range(20))
    assert stats.batches < 20  # calls grew while they were as cheap per structure
