"""Deploying Delivery Lab as several processes behind nginx (README, "Deploying several
processes"): the nginx site template, and ``python -m deploy.cluster``."""
