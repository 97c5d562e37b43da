"""Backend for TorchScript atomistic models in metatomic's format (PET and anything metatrain exports).

Many structures go through the model in one forward call. Conservative forces and stress come from autograd of the
energy with respect to positions and a strain applied to positions and cell; direct forces and stress come from
the model's ``non_conservative_force`` / ``non_conservative_stress`` heads when it has them. The file is loaded
through ``torch.jit.load`` (inside metatomic's loader): never unpickled.

On the CPU the TorchScript graph executor runs without its profiling optimisation: measured with the default PET,
the first call drops from 1.2 s to 0.2 s and later calls are no slower (0.17 s against 0.20 s for two 216-atom
cells); a job's structures rarely share one shape, which is what the optimisation would profile for.
"""

from __future__ import annotations

import copy
import itertools
import queue
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.data import chemical_symbols

from ...cores import usable_cores
from ..errors import ModelUnreadable, UnsupportedCapability
from ..structures import MIN_DISTANCE
from .ase_backend import check_distances
from .base import BatchTooLarge, ModelDescription, OverlappingAtoms, Prediction

TORCH_DTYPES = {'float32': torch.float32, 'float64': torch.float64}
DIRECT_FORCE_KEYS = ('non_conservative_force', 'non_conservative_forces')
DIRECT_STRESS_KEY = 'non_conservative_stress'
CPU_OUT_OF_MEMORY = "can't allocate memory"
# Copies of the model for calls side by side on the CPU, memory growing with each: measured on 2 cores only, so a
# bound rather than a measured best for wider nodes.
MAX_CPU_REPLICAS = 8


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


def with_dtype(model, dtype: str):
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


@dataclass
class _Replica:
    """One copy of the model on the device with its neighbour-list calculators: what one predict call uses alone."""

    model: Any
    neighbor_calculators: list


def _replica(model, dtype: str, device: str) -> _Replica:
    from vesin.metatomic import neighbor_lists_for_model

    ready = with_dtype(model, dtype).to(device).eval()
    return _Replica(ready, neighbor_lists_for_model('angstrom', ready, skin=0.0))


def _copy_of(replica: _Replica) -> _Replica:
    """A copy made in memory (0.03 s for the default PET here, where loading the file again took 0.25 s), so a model
    kept by the warm engine process does not need the file of the job that loaded it."""
    from vesin.metatomic import neighbor_lists_for_model

    model = copy.deepcopy(replica.model)
    return _Replica(model, neighbor_lists_for_model('angstrom', model, skin=0.0))


class MetatomicPotential:
    """A metatomic model on one device, evaluating batches of structures in single forward calls.

    On the CPU, calls may run side by side in threads (``max_concurrent_calls``: the usable cores, at most
    :data:`MAX_CPU_REPLICAS`), each on its own copy of the model (one TorchScript module shared by threads crashed
    the process here) with the torch threads shared out between them: for the default PET on the 2-core development
    machine, one structure per call, an 8-atom cell took 8.7 ms with two calls of one thread each against 12.6 ms one
    call at a time on two threads, a 64-atom cell 36.8 against 45.6 ms (``benchmarks/batch_size.py``): one small cell
    is too little work to keep two threads busy. Copies are made when first needed and kept.
    """

    def __init__(self, path: str | Path, device: str = 'auto', dtype: str | None = None):
        model = _load(path)
        capabilities = model.capabilities()
        if dtype is not None and dtype not in TORCH_DTYPES:
            raise UnsupportedCapability(f'dtype must be one of {sorted(TORCH_DTYPES)}, not {dtype}')
        self.device = _pick_device(device, list(capabilities.supported_devices))
        first = _replica(model, dtype or capabilities.dtype, self.device)
        dtype = first.model.capabilities().dtype
        self._dtype = TORCH_DTYPES[dtype]
        self._replicas = [first]
        self._free: queue.SimpleQueue[_Replica] = queue.SimpleQueue()
        self._free.put(first)
        self._phase_lock = threading.Lock()
        self.max_concurrent_calls = 1 if self.device != 'cpu' else max(1, min(usable_cores(), MAX_CPU_REPLICAS))
        outputs = capabilities.outputs
        if 'energy' not in outputs:
            raise ModelUnreadable(f'{path} has no energy output; outputs are {sorted(outputs)}')
        self._direct_force_key = next((key for key in DIRECT_FORCE_KEYS if key in outputs), None)
        self._has_direct_stress = DIRECT_STRESS_KEY in outputs
        self.phase_seconds: dict[str, float] = {}
        self.description = ModelDescription(
            backend='metatomic',
            architecture=model.module.original_name,
            name=model.metadata().name or Path(path).stem,
            elements=sorted(chemical_symbols[number] for number in capabilities.atomic_types),
            cutoff=float(capabilities.interaction_range),
            dtype=dtype,
            capabilities={
                'conservative': True,
                'direct_forces': self._direct_force_key is not None,
                'direct_stress': self._has_direct_stress,
            },
        )

    @contextmanager
    def concurrent(self, calls: int):
        """``calls`` copies of the model ready, and torch's threads shared out between them, while this lasts."""
        calls = max(1, min(calls, self.max_concurrent_calls))
        while len(self._replicas) < calls:
            replica = _copy_of(self._replicas[0])
            self._replicas.append(replica)
            self._free.put(replica)
        if calls == 1:  # one call at a time keeps every thread (a relaxation step)
            yield
            return
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, threads // calls))
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def predict(self, structures: list[Atoms], forces_mode: str) -> list[Prediction]:
        direct = forces_mode == 'direct'
        if direct and self._direct_force_key is None:
            raise UnsupportedCapability('forces_mode direct needs a model with a non_conservative_force output')
        replica = self._free.get()
        try:
            return self._predict(replica, structures, direct)
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            raise BatchTooLarge(str(exc)) from exc
        except RuntimeError as exc:  # the CPU allocator's failure is a plain RuntimeError (TorchScript wraps it)
            if CPU_OUT_OF_MEMORY not in str(exc):
                raise
            raise BatchTooLarge(str(exc).strip().splitlines()[-1]) from exc
        finally:
            self._free.put(replica)

    @contextmanager
    def _phase(self, name: str):
        """Time a phase of a batch (on a GPU after it finished there) into ``phase_seconds`` (calls that run at once
        add their seconds up)."""
        start = time.perf_counter()
        yield
        if self.device.startswith('cuda'):
            torch.cuda.synchronize(self.device)
        with self._phase_lock:
            self.phase_seconds[name] = self.phase_seconds.get(name, 0.0) + time.perf_counter() - start

    def _predict(self, replica: _Replica, structures: list[Atoms], direct: bool) -> list[Prediction]:
        """One forward (and backward) call for the whole batch: one copy of all positions, cells and types to the
        device, one copy of all forces and stresses back; each system is a view into the batch's tensors."""
        from metatomic.torch import ModelEvaluationOptions, ModelOutput, System

        direct_stress = direct and self._has_direct_stress
        offsets = np.cumsum([0] + [len(atoms) for atoms in structures])
        periodic = np.array([atoms.pbc.all() for atoms in structures])
        with self._phase('transfer'):
            positions = self._tensor(np.concatenate([atoms.positions for atoms in structures]))
            cells = self._tensor(np.array([atoms.cell.array for atoms in structures]))
            types = torch.from_numpy(np.concatenate([atoms.numbers for atoms in structures])).to(
                self.device, torch.int32
            )
            pbcs = torch.from_numpy(np.array([atoms.pbc for atoms in structures])).to(self.device)
            strains = torch.eye(3, dtype=self._dtype, device=self.device).repeat(len(structures), 1, 1)
        positions.requires_grad_(not direct)
        strains.requires_grad_(not direct_stress)
        systems = [
            System(
                types=types[start:stop],
                positions=positions[start:stop] @ strains[index],
                cell=cells[index] @ strains[index],
                pbc=pbcs[index],
            )
            for index, (start, stop) in enumerate(itertools.pairwise(offsets))
        ]
        with self._phase('neighbour_list'):
            for calculator in replica.neighbor_calculators:
                calculator.add_neighbor_list(systems, copy=True)
            self._check_distances(structures, systems, replica.neighbor_calculators)

        requested = {'energy': ModelOutput(unit='eV', sample_kind='system')}
        if direct:
            requested[self._direct_force_key] = ModelOutput(unit='eV/Angstrom', sample_kind='atom')
            if direct_stress:
                requested[DIRECT_STRESS_KEY] = ModelOutput(unit='eV/Angstrom^3', sample_kind='system')
        options = ModelEvaluationOptions(length_unit='angstrom', outputs=requested)
        with self._phase('forward'), torch.jit.optimized_execution(self.device != 'cpu'):
            outputs = replica.model(systems, options, check_consistency=False)
            energies = self._per_system(outputs['energy'].block(), len(structures)).reshape(-1)
        inputs = [tensor for tensor in (positions, strains) if tensor.requires_grad]
        with self._phase('backward'):
            values = torch.autograd.grad(energies.sum(), inputs) if inputs else ()
            gradients = dict(zip(map(id, inputs), values, strict=True))
        with self._phase('transfer'):
            energy_values = _numpy(energies)
            if direct:
                forces = self._per_atom(outputs[self._direct_force_key].block(), structures)
            else:
                forces = np.split(-_numpy(gradients[id(positions)]), offsets[1:-1])
            if direct_stress:
                stresses = _numpy(self._per_system(outputs[DIRECT_STRESS_KEY].block(), len(structures)))
            else:
                volumes = np.array([abs(atoms.cell.volume) if atoms.pbc.all() else 1.0 for atoms in structures])
                stresses = _numpy(gradients[id(strains)]) / volumes[:, None, None]
        return [
            Prediction(
                energy=float(energy_values[index]),
                forces=forces[index],
                stress=stresses[index].reshape(3, 3) if periodic[index] else None,
            )
            for index in range(len(structures))
        ]

    def _tensor(self, values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(values)).to(self.device, self._dtype)

    @staticmethod
    def _check_distances(structures: list[Atoms], systems: list, neighbor_calculators: list) -> None:
        """Overlapping atoms, found on the neighbour list the model needs anyway (ASE's for a model without one)."""
        if not neighbor_calculators:
            for position, atoms in enumerate(structures):
                check_distances(position, atoms)
            return
        options = neighbor_calculators[0].options
        for position, system in enumerate(systems):
            block = system.get_neighbor_list(options)
            if not len(block.values):
                continue
            distances = torch.linalg.vector_norm(block.values.detach()[:, :, 0], dim=1)
            closest = int(torch.argmin(distances))
            if float(distances[closest]) < MIN_DISTANCE:
                pair = block.samples.values[closest]
                raise OverlappingAtoms(position, int(pair[0]), int(pair[1]), float(distances[closest]))

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
