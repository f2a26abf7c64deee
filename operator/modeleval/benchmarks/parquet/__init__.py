"""A small pure-Python parquet reader for benchmark files (see ``reader``)."""

from modeleval.benchmarks.parquet.codecs import CodecError, snappy_decompress
from modeleval.benchmarks.parquet.reader import ParquetError, read_table

__all__ = ["CodecError", "ParquetError", "read_table", "snappy_decompress"]
