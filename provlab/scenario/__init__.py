"""Scenario files: setup, steps and expectations across both parties, run on simulated time."""
