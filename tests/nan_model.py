"""A valid metatomic model whose energy is always NaN, to test how NaN outputs are reported."""
# ruff: noqa: UP006, UP035, UP045  (TorchScript checks the forward signature against typing.List/Dict/Optional)

from pathlib import Path
from typing import Dict, List, Optional

import torch
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import AtomisticModel, ModelCapabilities, ModelMetadata, ModelOutput, System


class NaNEnergy(torch.nn.Module):
    def forward(
        self, systems: List[System], outputs: Dict[str, ModelOutput], selected_atoms: Optional[Labels] = None
    ) -> Dict[str, TensorMap]:
        energies = torch.stack([system.positions.sum() * float('nan') for system in systems]).reshape(-1, 1)
        block = TensorBlock(
            values=energies,
            samples=Labels(['system'], torch.arange(len(systems), dtype=torch.int32).reshape(-1, 1)),
            components=torch.jit.annotate(List[Labels], []),
            properties=Labels(['energy'], torch.tensor([[0]])),
        )
        return {'energy': TensorMap(keys=Labels(['_'], torch.tensor([[0]])), blocks=[block])}


def write_nan_model(path: Path) -> Path:
    """Export :class:`NaNEnergy` for Si as a metatomic model file."""
    capabilities = ModelCapabilities(
        outputs={'energy': ModelOutput(unit='eV', sample_kind='system', explicit_gradients=[])},
        atomic_types=[14],
        interaction_range=0.0,
        length_unit='angstrom',
        supported_devices=['cpu'],
        dtype='float64',
    )
    AtomisticModel(NaNEnergy().eval(), ModelMetadata(name='nan-energy'), capabilities).save(str(path))
    return path
