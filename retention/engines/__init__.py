"""The warehouse on more than one engine: building it on Spark and proving it equal to DuckDB's."""
