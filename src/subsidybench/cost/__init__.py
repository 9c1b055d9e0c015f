"""Costing: the model (pure numpy), jobs, pricing, throughput, estimates and sweeps.

Imports results, catalogue and the vocabulary; never torch.
"""
