"""Spark Hire v1.0: client, models, rate limiting and sandbox."""
