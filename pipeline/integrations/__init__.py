"""Integrations with distributed engines (optional extras): ``ray_data`` needs ``mtpipe[ray]``."""
