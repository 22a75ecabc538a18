"""Deployments: which flows run on a schedule, with which parameters, served locally or registered for a work pool."""
