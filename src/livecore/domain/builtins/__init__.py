"""Built-in strategies (sizers and risk rules live in ``domain.sizers`` / ``domain.risk``)."""
