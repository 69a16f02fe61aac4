"""Provision Lab's command-line tool: run both apps, move their clocks, prove the rules."""
