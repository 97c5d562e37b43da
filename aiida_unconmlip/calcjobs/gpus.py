"""Translate the ``gpus`` option into the scheduler's own directive."""

from __future__ import annotations

GPU_DIRECTIVES = {
    'core.slurm': '#SBATCH --gpus-per-node={gpus}',
    'core.pbspro': '#PBS -l ngpus={gpus}',
}
NO_DIRECTIVE = ('core.direct',)


def gpu_directive(scheduler_type: str, gpus: int) -> str:
    """The header line requesting ``gpus`` GPUs per node; empty for none or for schedulers without a queue."""
    if gpus == 0 or scheduler_type in NO_DIRECTIVE:
        return ''
    if scheduler_type not in GPU_DIRECTIVES:
        raise ValueError(
            f'the gpus option is not translated for scheduler {scheduler_type}; request GPUs with '
            'metadata.options.custom_scheduler_commands instead'
        )
    return GPU_DIRECTIVES[scheduler_type].format(gpus=gpus)
