"""The catalogue: device profiles and systems, subsidy programmes, fx, CPU peaks, freshness.

Imports only the vocabulary modules; torch-free.
"""
