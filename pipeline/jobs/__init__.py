"""Job files for schedulers: TOML job files and their keys, the run report, the run lock.

- :mod:`~mtpipe.jobs.jobfile`: parse and validate a job file into run settings;
  :mod:`~mtpipe.jobs.keys`: the keys it may hold and the check of each value.
- :mod:`~mtpipe.jobs.report`: run a job under its lock and write its JSON run report.
- :mod:`~mtpipe.jobs.lock`: the lock that keeps two runs of one job apart.

May import :mod:`mtpipe.run` and what lies below it (engine, formats, records, text, errors);
never :mod:`mtpipe.cli`.
"""
