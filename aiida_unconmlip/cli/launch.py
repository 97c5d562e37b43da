"""Run a process in the foreground with progress on stderr, or submit it to the daemon."""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

PROCESS_LOGGER = 'aiida.orm.nodes.process'
REPORT = re.compile(r'^\[(?P<pk>\d+)\|(?P<process>\w+)\|(?P<step>\w+)\]: (?P<message>.*)$', re.S)


class ProgressHandler(logging.Handler):
    """Turn process reports into short progress lines: elapsed time, process, step, what happened."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.start = time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        match = REPORT.match(record.getMessage())
        if match is None:
            return
        self.say(f'{match["process"]}<{match["pk"]}> {match["step"]}: {match["message"]}')

    def say(self, text: str) -> None:
        click.echo(f'[{time.perf_counter() - self.start:6.1f} s] {text}', err=True)


class TerminalToStderr(logging.Filter):
    """On the terminal handlers during a foreground run: process reports are left to the progress lines, and every
    other message goes to stderr (AiiDA's CLI handler writes to stdout, which belongs to --json)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.err = True
        return not record.name.startswith(PROCESS_LOGGER)


@contextmanager
def progress_on_stderr() -> Iterator[ProgressHandler]:
    """Process reports as progress lines on stderr; they still propagate to AiiDA's database log handler, so
    ``verdi process report`` shows them afterwards."""
    from aiida.orm.utils.log import DBLogHandler

    handler = ProgressHandler()
    logging.getLogger(PROCESS_LOGGER).addHandler(handler)
    hide = TerminalToStderr()
    terminal = [h for h in logging.getLogger('aiida').handlers if not isinstance(h, DBLogHandler)]
    for terminal_handler in terminal:
        terminal_handler.addFilter(hide)
    try:
        yield handler
    finally:
        logging.getLogger(PROCESS_LOGGER).removeHandler(handler)
        for terminal_handler in terminal:
            terminal_handler.removeFilter(hide)


VALIDATION_PREFIX = re.compile(r"^Error occurred validating port '[^']*': ")


def instantiate(launcher, builder):
    """Submit or run ``builder``; inputs the process refuses become one line, and nothing has been stored."""
    try:
        return launcher(builder)
    except ValueError as exc:
        raise click.ClickException(VALIDATION_PREFIX.sub('', str(exc).strip().splitlines()[0])) from exc


def stopped(node, signal_name: str, as_json: bool) -> NoReturn:
    """A run stopped by SIGINT or SIGTERM: one line (and the JSON object) saying so, and the shell's exit status for
    a command ended by that signal (130, 143)."""
    killed = [child for child in node.called_descendants if child.is_killed]
    if as_json:
        payload = {'pk': node.pk, 'uuid': node.uuid, 'state': 'killed', 'status': node.process_status}
        click.echo(json.dumps(payload))
    subject = f'{node.process_label}<{node.pk}>' + (f' and the {len(killed)} processes it started' if killed else '')
    click.echo(
        f'Stopped by {signal_name}: {subject} {"were" if killed else "was"} killed and the jobs stopped; what was '
        f'stored stays (verdi process show {node.pk})',
        err=True,
    )
    sys.exit(128 + signal.Signals[signal_name].value)


def launch(builder, daemon: bool, as_json: bool):
    """Submit to the daemon (print the PK, return None) or run here with progress (return the node): the process
    reports and, during long evaluate jobs, the engine's own count of structures done (:mod:`.job_progress`).

    A run that fails prints its exit status and message (which names the root cause) on stderr and, with
    ``--json``, as the one JSON object on stdout.
    """
    from aiida.engine import submit

    from ..workflows.failures import root_cause
    from .foreground_runner import foreground_runner, rows_kept_across_commits
    from .job_progress import evaluate_progress

    if daemon:
        node = instantiate(submit, builder)
        if as_json:
            click.echo(json.dumps({'pk': node.pk, 'uuid': node.uuid}))
        else:
            click.echo(f'submitted {node.process_label}<{node.pk}>; follow it with: verdi process show {node.pk}')
        return None
    runner = foreground_runner()
    with progress_on_stderr() as progress, rows_kept_across_commits(), evaluate_progress(runner, progress.say):
        _, node = instantiate(runner.run_get_node, builder)
    if runner.stopped_by and node.is_killed:
        stopped(node, runner.stopped_by, as_json)
    if not node.is_finished_ok:
        exit_message = node.exit_message or root_cause(node)
        if as_json:
            payload = {'pk': node.pk, 'uuid': node.uuid, 'exit_status': node.exit_status, 'exit_message': exit_message}
            click.echo(json.dumps(payload))
        click.echo(f'Error: {node.process_label}<{node.pk}> failed: [{node.exit_status}] {exit_message}', err=True)
        sys.exit(1)
    return node
