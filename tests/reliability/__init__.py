"""Reliability and security: faults, kills, signals, bad input and hostile files.

The default test run includes the quick part (~25 s). The long part is marked ``slow``::

    /tmp/venv/bin/pytest -p no:cacheprovider tests/reliability -m slow -s    # ~5 min

- ``test_kills.py`` (slow): SIGKILL at 26 points of csv, po, docx and parquet runs, then rerun;
- ``test_signals.py``: SIGTERM / SIGINT while requests are in flight and while reading;
- ``test_fuzz_readers.py``: hypothesis-mutated files through every reader (50 examples per
  test by default, 2,100 in the slow suite: 12,600 in all; MTPIPE_FUZZ_QUICK /
  MTPIPE_FUZZ_THOROUGH override);
- ``test_bad_input.py``: one corrupt file among ten, empty files, Latin-1, NUL bytes, huge
  fields, very long lines;
- ``test_security.py``: the key in no output at any verbosity, XXE / entity expansion / lying
  zip entries in .docx, output paths, file modes, which hosts are contacted.

The soak (10,000 segments under every transient fault, figures printed) is a benchmark::

    /tmp/venv/bin/pytest -p no:cacheprovider tests/benchmarks/test_soak.py -s -o addopts=""
"""
