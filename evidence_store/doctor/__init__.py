"""``sealroom doctor``'s checks of the evidence side of an installation, on the framework of
``evidence_store.installation`` (``Check``, ``Problem``, ``Severity``, ``examine``): the
databases, the bucket and the filer, the clock, the time-stamp authority and the witness,
certificates and secrets. ``CHECKS`` lists them; other packages add theirs."""

from evidence_store.doctor.bucket import check_bucket, check_filer_ports
from evidence_store.doctor.clock import (
    check_clock_sync,
    check_tsa,
    check_witness,
    ntp_synchronised_from_timedatectl,
    synchronised_from_chronyc,
)
from evidence_store.doctor.databases import check_custody, check_sqlite_files, fix_custody
from evidence_store.doctor.keys import check_certificates, check_secrets
from evidence_store.installation import Check

CHECKS: tuple[Check, ...] = (
    Check("custody", check_custody, fix_custody),
    Check("databases", check_sqlite_files),
    Check("bucket", check_bucket),
    Check("filer", check_filer_ports),
    Check("clock", check_clock_sync),
    Check("time-stamps", check_tsa),
    Check("witness", check_witness),
    Check("certificates", check_certificates),
    Check("secrets", check_secrets),
)

__all__ = [
    "CHECKS",
    "check_certificates",
    "ntp_synchronised_from_timedatectl",
    "synchronised_from_chronyc",
]
