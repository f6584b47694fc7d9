"""Implementations of the ports: in-process, Kafka, Redis and SQL."""
