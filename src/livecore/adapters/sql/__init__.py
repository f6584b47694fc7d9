"""The SQL store's parts: engine and schema, then one module per store."""
