"""Market data feeds: replay of CSV/Parquet files and a synthetic GBM generator,
published on ``market.data`` by a ``FeedRunner``."""
