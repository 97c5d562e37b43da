"""``.. exit-codes:: module.Process``: the exit codes of a process, read from its specification.

AiiDA's own process directives list inputs, outputs and the outline; this lists the exit codes beside them, so no
table of exit codes is written by hand.
"""

from aiida.common.utils import get_object_from_string
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class ExitCodesDirective(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        process = get_object_from_string(self.arguments[0])
        lines = ['.. list-table::', '   :header-rows: 1', '   :widths: 8 34 58', '']
        lines += ['   * - status', '     - label', '     - message']
        for label, exit_code in sorted(process.spec().exit_codes.items(), key=lambda item: item[1].status):
            message = exit_code.message.replace('{', '``{').replace('}', '}``')
            lines += [f'   * - {exit_code.status}', f'     - ``{label}``', f'     - {message}']
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return list(container.children)


def setup(app):
    app.add_directive('exit-codes', ExitCodesDirective)
    return {'parallel_read_safe': True}
