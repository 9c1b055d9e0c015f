"""Costing: the model (pure numpy, never torch), jobs, pricing, throughput, estimates and sweeps."""
