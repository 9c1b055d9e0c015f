"""Measuring: the runner (one loop for one device or a torchrun group), distributed, environment.

Imports workloads, devices, results, catalogue and the vocabulary; never cost, report or cli.
"""
