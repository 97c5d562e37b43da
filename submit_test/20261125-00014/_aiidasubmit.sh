#!/bin/bash
#PBS -r n
#PBS -m n
#PBS -N aiida-2677
#PBS -V
#PBS -o _scheduler-stdout.txt
#PBS -e _scheduler-stderr.txt
#PBS -l select=1:mpiprocs=1
#PBS -l ngpus=2
cd "$PBS_O_WORKDIR"


'/work/main/.venv/bin/unconmlip-engine' '.'
