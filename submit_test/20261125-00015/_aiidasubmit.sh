#!/bin/bash
exec > _scheduler-stdout.txt
exec 2> _scheduler-stderr.txt


'/work/main/.venv/bin/unconmlip-engine' '.'
