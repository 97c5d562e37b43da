"""AiiDA data types of the plugin."""

from .born_charges import BornChargesData
from .force_set import ForceSetData
from .model import ModelData, ModelImportError, RemoteModelData
from .structure_set import StructureSetData

__all__ = ('BornChargesData', 'ForceSetData', 'ModelData', 'ModelImportError', 'RemoteModelData', 'StructureSetData')
