"""Real venues through ccxt: the gateway's broker (orders, fills, reconciliation)
and the live market-data feed. See docs/VENUES.md."""
