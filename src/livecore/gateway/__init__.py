"""The paper trade gateway: consumes ``orders``, executes them through a broker
adapter (paper by default) against live market data, journals every order and
outcome durably and publishes each outcome on ``orders.feedback``."""
