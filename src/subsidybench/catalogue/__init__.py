"""The catalogue: device profiles, CPU peaks, subsidy programmes, exchange rates, data paths."""
