"""Example inputs (CSV, TOML), shipped with b12sim as package data."""
