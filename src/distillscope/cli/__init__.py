"""Command-line interface: thin typer commands, one module per group."""
