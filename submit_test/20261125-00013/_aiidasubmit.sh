#!/bin/bash
#SBATCH --no-requeue
#SBATCH --job-name="aiida-2674"
#SBATCH --get-user-env
#SBATCH --output=_scheduler-stdout.txt
#SBATCH --error=_scheduler-stderr.txt
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=2

'/work/main/.venv/bin/unconmlip-engine' '.'
