"""Evidence tables (CSV), shipped with b12sim as package data; see b12sim.evidence."""
