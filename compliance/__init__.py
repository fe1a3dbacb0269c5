"""The compliance gate: policy as data, rules, findings. Pure functions, no database."""
