"""Rules and the graph: symbols, activations, vector maps, losses, the network.

The first stage. Every rule is one SymPy expression here (an activation h(a), the
softmax map, a loss E_n(y, t)); its derivatives, LaTeX and stable NumPy kernels are
derived from it. May import: ``symnet.errors``, ``symnet._validate``, ``symnet._size``.
"""
