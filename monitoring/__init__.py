"""Monitoring definitions as data (CDK-free): alerts, the metrics they may name, dashboards."""
