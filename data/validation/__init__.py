"""Published study results the model is checked against (CSV), shipped with b12sim as package data; see b12sim.studies."""
