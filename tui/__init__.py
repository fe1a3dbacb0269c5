"""The Textual app and the `gatepost` command line."""
