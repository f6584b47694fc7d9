"""Backtests: the live code (specs, ``Portfolio``, the paper broker) run over
history in event time, with statistics and a report. See docs/BACKTEST.md."""
