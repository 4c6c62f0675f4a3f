"""Sealed evidence: the hash chain, signatures, manifests, storage, verification and custody.

This package imports nothing else of the project: it is all a third party needs to verify.
"""
