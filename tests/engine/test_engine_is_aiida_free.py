"""The compute-node engine must run where AiiDA is not installed or configured."""

import ast
import subprocess
import sys
from pathlib import Path

import aiida_unconmlip


def test_engine_imports_without_aiida():
    code = (
        'import sys, aiida_unconmlip.engine, aiida_unconmlip.engine.__main__, aiida_unconmlip.engine.io\n'
        'import aiida_unconmlip.engine.jobs, aiida_unconmlip.engine.warm, aiida_unconmlip.engine.warm_server\n'
        'import aiida_unconmlip.engine.potentials.ase_backend, aiida_unconmlip.engine.potentials.metatomic_backend\n'
        'import aiida_unconmlip.engine.phonopy_task, aiida_unconmlip.engine.phono3py_task\n'
        'import aiida_unconmlip.phonons.calculation, aiida_unconmlip.conductivity.calculation, aiida_unconmlip.qha\n'
        'import aiida_unconmlip.symmetry.space_group, aiida_unconmlip.validation\n'
        'assert not any(name == "aiida" or name.startswith("aiida.") for name in sys.modules), "aiida imported"\n'
    )
    subprocess.run([sys.executable, '-c', code], check=True)


# The compute-node side and the physics it runs (engine -> phonons, conductivity, qha, symmetry's spglib modules ->
# step_record): each may import only itself and the ones after it in this list, never AiiDA.
LOWER_LAYERS = (
    ('engine',),
    ('phonons', 'conductivity', 'qha'),
    ('symmetry.space_group', 'symmetry.no_symmetry', 'step_record', 'speedups', 'cores', 'timing'),
)


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` (in ``package``) imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parent = package.split('.')[: len(package.split('.')) - node.level + 1]
                base = '.'.join(parent + ([base] if base else []))
            names.add(base)
    return names


def layer_of(module: str) -> int | None:
    relative = module.removeprefix('aiida_unconmlip.')
    for index, layer in enumerate(LOWER_LAYERS):
        if any(relative == name or relative.startswith(f'{name}.') for name in layer):
            return index
    return None


def test_no_import_runs_upward_or_into_aiida():
    root = Path(aiida_unconmlip.__file__).parent
    upward = []
    for path in root.rglob('*.py'):
        parts = path.relative_to(root.parent).with_suffix('').parts
        module = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        package = module if parts[-1] == '__init__' else '.'.join(parts[:-1])
        layer = layer_of(module)
        if layer is None:
            continue
        for name in imported_modules(path, package):
            target = layer_of(name) if name.startswith('aiida_unconmlip') else None
            if (
                name == 'aiida'
                or name.startswith('aiida.')
                or (
                    name.startswith('aiida_unconmlip')
                    and name != 'aiida_unconmlip'
                    and (target is None or target < layer)
                )
            ):
                upward.append(f'{module} imports {name}')
    assert not upward, '\n'.join(sorted(upward))
