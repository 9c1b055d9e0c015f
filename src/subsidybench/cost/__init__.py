"""Costing (pure numpy, never torch): request (a question, its inputs checked in one place),
scenario (the one resolver), evaluate (one answer, a sweep grid, a ranking), model (the
arithmetic), terms, reach, jobs, pricing, throughput, device, estimate (roofline), sweep,
uncertainty (ranges by Monte Carlo, a tornado) and spread (an input given as a range a~b).

Imports results, catalogue and the vocabulary; never measure, devices or torch.
"""
