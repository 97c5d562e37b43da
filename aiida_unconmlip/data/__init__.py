"""AiiDA data types of the plugin."""

from .force_set import ForceSetData
from .model import ModelData, ModelImportError, RemoteModelData
from .structure_set import StructureSetData

__all__ = ('ForceSetData', 'ModelData', 'ModelImportError', 'RemoteModelData', 'StructureSetData')
