"""Integrations with distributed engines (optional extras): ``ray_data`` needs ``mtpipe[ray]``.

May import the run, engine, formats, records and text; never jobs or the CLI.
"""
