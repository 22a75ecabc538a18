"""Prefect flows: one per user job, each reading top to bottom as the data's path."""
