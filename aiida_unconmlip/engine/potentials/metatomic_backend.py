"""Backend for TorchScript atomistic models in metatomic's format (PET and anything metatrain exports).

Many structures go through the model in one forward call. Conservative forces and stress come from autograd
of the energy with respect to positions and a strain applied to positions and cell; direct forces and stress
come from the model's ``non_conservative_force`` / ``non_conservative_stress`` heads when it has them.
The file is loaded through ``torch.jit.load`` (inside metatomic's loader): never unpickled.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.data import chemical_symbols

from ..errors import ModelUnreadable, UnsupportedCapability
from .base import BatchTooLarge, ModelDescription, Prediction

TORCH_DTYPES = {'float32': torch.float32, 'float64': torch.float64}
DIRECT_FORCE_KEYS = ('non_conservative_force', 'non_conservative_forces')
DIRECT_STRESS_KEY = 'non_conservative_stress'
CPU_OUT_OF_MEMORY = "can't allocate memory"


@contextmanager
def _quiet_deprecated_output_names():
    """Older exports use deprecated output names: not something the user of a model file can fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*output name is deprecated.*')
        yield


def _load(path: str | Path):
    """Load the model with metatomic's checks, turning every failure into one clear error."""
    from metatomic.torch import load_atomistic_model

    with _quiet_deprecated_output_names():
        try:
            return load_atomistic_model(str(path))
        except Exception as exc:
            raise ModelUnreadable(f'{path} is not a loadable metatomic model: {exc}') from exc


def _with_dtype(model, dtype: str):
    """Return the model cast to ``dtype``, with capabilities saying so (float64 is recommended for phonons)."""
    from metatomic.torch import AtomisticModel, ModelCapabilities

    capabilities = model.capabilities()
    if capabilities.dtype == dtype:
        return model
    cast_capabilities = ModelCapabilities(
        outputs=capabilities.outputs,
        atomic_types=capabilities.atomic_types,
        interaction_range=capabilities.interaction_range,
        length_unit=capabilities.length_unit,
        supported_devices=capabilities.supported_devices,
        dtype=dtype,
    )
    with _quiet_deprecated_output_names():
        return AtomisticModel(model.module.to(TORCH_DTYPES[dtype]), model.metadata(), cast_capabilities)


def _pick_device(requested: str, supported: list[str]) -> str:
    if requested == 'auto':
        return 'cuda' if torch.cuda.is_available() and 'cuda' in supported else 'cpu'
    if requested == 'cuda' and not torch.cuda.is_available():
        raise UnsupportedCapability('device cuda was requested but no CUDA device is visible on this node')
    if requested not in supported:
        raise UnsupportedCapability(f'the model supports devices {supported}, not {requested}')
    return requested


class MetatomicPotential:
    """A metatomic model on one device, evaluating batches of structures in single forward calls."""

    def __init__(self, path: str | Path, device: str = 'auto', dtype: str | None = None):
        from vesin.metatomic import neighbor_lists_for_model

        model = _load(path)
        capabilities = model.capabilities()
        if dtype is not None and dtype not in TORCH_DTYPES:
            raise UnsupportedCapability(f'dtype must be one of {sorted(TORCH_DTYPES)}, not {dtype}')
        self.device = _pick_device(device, list(capabilities.supported_devices))
        self._model = _with_dtype(model, dtype or capabilities.dtype).to(self.device).eval()
        self._dtype = TORCH_DTYPES[self._model.capabilities().dtype]
        outputs = capabilities.outputs
        if 'energy' not in outputs:
            raise ModelUnreadable(f'{path} has no energy output; outputs are {sorted(outputs)}')
        self._direct_force_key = next((key for key in DIRECT_FORCE_KEYS if key in outputs), None)
        self._has_direct_stress = DIRECT_STRESS_KEY in outputs
        self._neighbor_calculators = neighbor_lists_for_model('angstrom', self._model, skin=0.0)
        self.description = ModelDescription(
            backend='metatomic',
            architecture=model.module.original_name,
            name=model.metadata().name or Path(path).stem,
            elements=sorted(chemical_symbols[number] for number in capabilities.atomic_types),
            cutoff=float(capabilities.interaction_range),
            dtype=self._model.capabilities().dtype,
            capabilities={
                'conservative': True,
                'direct_forces': self._direct_force_key is not None,
                'direct_stress': self._has_direct_stress,
            },
        )

    def predict(self, structures: list[Atoms], forces_mode: str) -> list[Prediction]:
        direct = forces_mode == 'direct'
        if direct and self._direct_force_key is None:
            raise UnsupportedCapability('forces_mode direct needs a model with a non_conservative_force output')
        try:
            return self._predict(structures, direct)
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            raise BatchTooLarge(str(exc)) from exc
        except RuntimeError as exc:  # the CPU allocator's failure is a plain RuntimeError (TorchScript wraps it)
            if CPU_OUT_OF_MEMORY not in str(exc):
                raise
            raise BatchTooLarge(str(exc).strip().splitlines()[-1]) from exc

    def _predict(self, structures: list[Atoms], direct: bool) -> list[Prediction]:
        from metatomic.torch import ModelEvaluationOptions, ModelOutput, System

        direct_stress = direct and self._has_direct_stress
        systems, positions, strains = [], [], []
        for atoms in structures:
            position = torch.tensor(atoms.positions, dtype=self._dtype, device=self.device)
            cell = torch.tensor(atoms.cell.array, dtype=self._dtype, device=self.device)
            strain = torch.eye(3, dtype=self._dtype, device=self.device)
            if not direct:
                position.requires_grad_(True)
            periodic = bool(atoms.pbc.all())
            if periodic and not direct_stress:
                strain.requires_grad_(True)
            systems.append(
                System(
                    types=torch.tensor(atoms.numbers, dtype=torch.int32, device=self.device),
                    positions=position @ strain,
                    cell=cell @ strain,
                    pbc=torch.tensor(atoms.pbc, dtype=torch.bool, device=self.device),
                )
            )
            positions.append(position)
            strains.append(strain if periodic else None)
        for calculator in self._neighbor_calculators:
            calculator.add_neighbor_list(systems, copy=True)

        requested = {'energy': ModelOutput(unit='eV', sample_kind='system')}
        if direct:
            requested[self._direct_force_key] = ModelOutput(unit='eV/Angstrom', sample_kind='atom')
            if direct_stress:
                requested[DIRECT_STRESS_KEY] = ModelOutput(unit='eV/Angstrom^3', sample_kind='system')
        options = ModelEvaluationOptions(length_unit='angstrom', outputs=requested)
        outputs = self._model(systems, options, check_consistency=False)
        energies = self._per_system(outputs['energy'].block(), len(structures)).reshape(-1)
        energy_values = _numpy(energies)

        position_inputs = [] if direct else positions
        strain_inputs = [strain for strain in strains if strain is not None and strain.requires_grad]
        gradients = (
            torch.autograd.grad(energies.sum(), position_inputs + strain_inputs)
            if (position_inputs or strain_inputs)
            else ()
        )
        if direct:
            forces = self._per_atom(outputs[self._direct_force_key].block(), structures)
        else:
            forces = [-_numpy(grad) for grad in gradients[: len(positions)]]
        strain_gradients = iter(gradients[len(position_inputs) :])
        if direct_stress:
            direct_stresses = _numpy(self._per_system(outputs[DIRECT_STRESS_KEY].block(), len(structures)))
        predictions = []
        for index, atoms in enumerate(structures):
            if strains[index] is None:
                stress = None
            elif direct_stress:
                stress = direct_stresses[index].reshape(3, 3)
            else:
                stress = _numpy(next(strain_gradients)) / atoms.cell.volume
            predictions.append(Prediction(energy=float(energy_values[index]), forces=forces[index], stress=stress))
        return predictions

    @staticmethod
    def _per_system(block, count: int) -> torch.Tensor:
        """Values of a per-system block ordered by system index."""
        ordered = torch.empty_like(block.values)
        ordered[block.samples.column('system').long()] = block.values
        if ordered.shape[0] != count:
            raise ModelUnreadable(f'the model returned {ordered.shape[0]} values for {count} structures')
        return ordered

    @staticmethod
    def _per_atom(block, structures: list[Atoms]) -> list[np.ndarray]:
        """Scatter a per-atom (system, atom) block into one array per structure."""
        offsets = np.cumsum([0] + [len(atoms) for atoms in structures])
        rows = offsets[block.samples.column('system').cpu().numpy()] + block.samples.column('atom').cpu().numpy()
        values = np.zeros((offsets[-1], 3))
        values[rows] = _numpy(block.values).reshape(-1, 3)
        return np.split(values, offsets[1:-1])


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy()
