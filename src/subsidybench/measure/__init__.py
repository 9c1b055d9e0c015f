"""Measuring: the runner (one loop for one device or a torchrun group), distributed, environment."""
