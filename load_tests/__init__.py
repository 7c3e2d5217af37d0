"""Locust load tests (one `User` per actor) and the bounded headless runner (`run.py`)."""
