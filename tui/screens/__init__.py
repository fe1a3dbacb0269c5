"""The screens of the Gatepost terminal UI."""
