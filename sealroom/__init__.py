"""The sealroom application shell: one command line over every package. Nothing imports it."""

__all__: list[str] = []
