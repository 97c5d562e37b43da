"""Many small evaluate jobs submitted at once to the services' daemon, through SLURM over SSH: throughput and the
daemon's overhead per job. Needs ``make services``; run with ``make bench-cluster``.

Usage: ``python benchmarks/cluster_load.py [--jobs 50]``. Writes ``benchmarks/results/cluster-load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--jobs', type=int, default=50)
    args = parser.parse_args()
    os.environ['AIIDA_PATH'] = str(REPO)

    import numpy as np
    from aiida import load_profile
    from aiida.engine import submit
    from aiida.orm import StructureData, load_code
    from ase.build import bulk

    load_profile('unconmlip-cluster', allow_switch=True)
    from aiida_unconmlip.calcjobs.evaluate import EvaluateCalculation
    from aiida_unconmlip.models.resolve import resolve_model

    code, model = load_code('unconmlip-engine@slurm-loopback'), resolve_model('emt')
    start = time.perf_counter()
    nodes = [
        submit(EvaluateCalculation, code=code, model=model, structures=StructureData(ase=bulk('Cu', 'fcc', a=a)))
        for a in np.linspace(3.55, 3.65, args.jobs)
    ]
    submitted = time.perf_counter() - start
    while not all(node.is_terminated for node in nodes):
        time.sleep(1)
    total = time.perf_counter() - start
    finished = [node for node in nodes if node.is_finished_ok]
    engine = [node.outputs.timing['wall_seconds'] for node in finished]
    latencies = [(node.mtime - node.ctime).total_seconds() for node in finished]
    result = {
        'machine': {'cores': os.cpu_count(), 'scheduler': 'SLURM 22.05, one node, over SSH on loopback'},
        'jobs': args.jobs,
        'finished_ok': len(finished),
        'seconds_to_submit_all': submitted,
        'seconds_until_all_finished': total,
        'jobs_per_minute': 60 * len(finished) / total,
        'seconds_per_job_at_that_throughput': total / max(len(finished), 1),
        'mean_engine_seconds_per_job': statistics.mean(engine),
        'median_seconds_from_submission_to_finished': statistics.median(latencies),
        'note': 'each job: one fcc Cu atom with EMT, so nearly all of a job is the daemon, SSH, SLURM and the engine '
        'start; the engine time is its own wall time in the job; jobs wait in the queue, hence the latency',
    }
    (REPO / 'benchmarks' / 'results' / 'cluster-load.json').write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
