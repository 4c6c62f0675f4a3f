"""Trusted time: RFC 3161 time-stamp tokens from a configured authority.

``TsaClient.stamp`` asks the authority and checks its answer; ``TokenVerifier`` checks a
stored token (``evidence_store.tokens.TokenCheck``, for the verifiers); ``Stamper`` decides
what is stamped and queues it in the ``tsa`` outbox without waiting; ``StampDelivery`` sends
what is queued and stores each token beside the file it stamps; ``record_stamp`` puts what
a token says about the device's clock on the record.
"""

from evidence_store.timestamping.client import TsaClient, TsaRefused, TsaUnavailable
from evidence_store.timestamping.config import TsaConfig, token_verifier, tsa_config
from evidence_store.timestamping.delivery import StampDelivery, StampRecord
from evidence_store.timestamping.records import record_stamp
from evidence_store.timestamping.stamper import STAMP, TSA_OUTBOX, Stamper
from evidence_store.timestamping.verifier import TokenVerifier

__all__ = [
    "STAMP",
    "TSA_OUTBOX",
    "StampDelivery",
    "StampRecord",
    "Stamper",
    "TokenVerifier",
    "TsaClient",
    "TsaConfig",
    "TsaRefused",
    "TsaUnavailable",
    "record_stamp",
    "token_verifier",
    "tsa_config",
]
