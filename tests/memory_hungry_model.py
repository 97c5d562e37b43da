"""A valid metatomic model that asks for far more host memory than any machine has, for every structure: the
engine's out-of-memory path, exercised for real on the CPU."""
# ruff: noqa: UP006, UP035, UP045  (TorchScript checks the forward signature against typing.List/Dict/Optional)

from pathlib import Path
from typing import Dict, List, Optional

import torch
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import AtomisticModel, ModelCapabilities, ModelMetadata, ModelOutput, System


class MemoryHungryEnergy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.workspace_size = 2**47  # a petabyte of float64

    def forward(
        self, systems: List[System], outputs: Dict[str, ModelOutput], selected_atoms: Optional[Labels] = None
    ) -> Dict[str, TensorMap]:
        workspace = torch.zeros([self.workspace_size], dtype=systems[0].positions.dtype)
        energies = torch.stack([system.positions.sum() + workspace[0] for system in systems]).reshape(-1, 1)
        block = TensorBlock(
            values=energies,
            samples=Labels(['system'], torch.arange(len(systems), dtype=torch.int32).reshape(-1, 1)),
            components=torch.jit.annotate(List[Labels], []),
            properties=Labels(['energy'], torch.tensor([[0]])),
        )
        return {'energy': TensorMap(keys=Labels(['_'], torch.tensor([[0]])), blocks=[block])}


def write_memory_hungry_model(path: Path) -> Path:
    """Export :class:`MemoryHungryEnergy` for Si as a metatomic model file."""
    capabilities = ModelCapabilities(
        outputs={'energy': ModelOutput(unit='eV', sample_kind='system', explicit_gradients=[])},
        atomic_types=[14],
        interaction_range=0.0,
        length_unit='angstrom',
        supported_devices=['cpu'],
        dtype='float64',
    )
    AtomisticModel(MemoryHungryEnergy().eval(), ModelMetadata(name='memory-hungry'), capabilities).save(str(path))
    return path
