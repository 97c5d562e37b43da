"""Lattice thermal conductivity with phono3py: displacements, second- and third-order force constants, kappa(T).
No AiiDA here: the engine's ``phono3py`` task runs it on the compute node."""
