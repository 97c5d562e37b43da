"""DFT reference data with Quantum ESPRESSO through aiida-quantumespresso (the ``dft`` extra)."""
