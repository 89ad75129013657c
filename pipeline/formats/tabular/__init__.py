"""The tabular formats: CSV/TSV and Parquet, each translating chosen columns.

Holds:

- ``csv``: :class:`~mtpipe.formats.tabular.csv.CsvFormat`; ``delimited`` is its low-level
  half (streaming reading that remembers the dialect and quoting, field rendering);
- ``glossary``: glossary files (``--glossary``), read by ``delimited`` like any CSV/TSV input;
- ``parquet``: :class:`~mtpipe.formats.tabular.parquet.ParquetFormat`, streaming reading
  and row-group-wise writing; ``schema`` chooses the columns and shapes the output file
  (schema, codecs, writer settings); ``arrow`` translates one Arrow column chunk.

The formats are imported from their modules, not re-exported here, so that reading a CSV file
does not load pyarrow.

Imports go downward only: these modules may import each other, :mod:`mtpipe.formats.base`,
:mod:`mtpipe.errors`, the text helpers (:mod:`mtpipe.text.segments`, :mod:`mtpipe.text.languages`)
and pyarrow; never the run, the CLI or the engine.
"""
