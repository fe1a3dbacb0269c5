"""Command-line command groups kept beside `tui.cli`, registered there."""
