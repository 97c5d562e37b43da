"""Output links attached only when a process has outputs to attach.

AiiDA's ``Process.update_outputs`` runs at every state change of a process and asks the database for the node's
output links, to attach the new ones. A work chain or calculation job has no outputs until its last steps, so all
but the last few of those queries find nothing to do: 284 of the 6834 SQL statements of the main job (counted with
the rows of a foreground run still marked stale at each commit). The mixin skips the query while the process has no
outputs, and leaves everything else to AiiDA. A speed-up (:mod:`aiida_unconmlip.speedups`: ``output_links``).
"""

from __future__ import annotations

from .speedups import enabled


class OutputLinksWhenPresent:
    """Mixin for a ``Process`` subclass (before it in the bases): ``update_outputs`` only once there are outputs."""

    def update_outputs(self) -> None:
        """Attach new outputs as AiiDA does; with none at all there is nothing new, so no query is made."""
        if self.outputs or not enabled('output_links'):
            super().update_outputs()
