"""A computer the jobs cannot reach refused while the builder is made, before anything is stored or launched."""

from __future__ import annotations

from aiida import orm


class ComputerUnreachable(ValueError):
    """The transport of the jobs' computer could not be opened."""


def check_reachable(computer: orm.Computer) -> None:
    """Open the transport of ``computer`` once, so a refused key or an unknown host is reported now, with what to do,
    instead of the first job pausing after AiiDA's transport retries. Done here rather than in a work-chain step,
    where opening a transport would block the daemon worker's event loop outside AiiDA's transport queue."""
    if computer.transport_type == 'core.local':
        return
    try:
        with computer.get_transport():
            pass
    except Exception as exc:  # any failure to connect: the message names the transport's own reason
        raise ComputerUnreachable(
            f'cannot reach the computer of the jobs, {computer.label} ({computer.transport_type}): '
            f'{type(exc).__name__}: {exc}; check the connection with `verdi computer test {computer.label}`'
        ) from exc
