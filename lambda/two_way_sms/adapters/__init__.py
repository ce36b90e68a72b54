"""Thin adapters between the domain and AWS: the only modules here that call boto3 clients."""
