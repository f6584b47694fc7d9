"""The venue simulator: a local Binance or OKX spot venue on the real wire.

``VenueSimServer(VenueSettings(...))`` serves it in-process (a context
manager); ``server.venue`` is its Python control API; ``ccxt_config`` gives
ccxt clients pointed at it. ``livecore venue-sim`` runs one in the foreground.
"""
