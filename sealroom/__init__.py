"""The sealroom application shell: one command line over every package."""
