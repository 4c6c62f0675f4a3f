"""Fixtures for a site on loopback: the installation CA, a replicated SeaweedFS cluster, nginx
and console replicas."""
