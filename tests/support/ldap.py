"""A real OpenLDAP directory for the tests: Debian's ``slapd`` on loopback, with a data
directory of its own, filled by ``ldapadd`` with people and groups.

- ``ana.kiem``: auditor of unit ``hanoi`` (groups ``auditors`` and ``unit-hanoi``)
- ``binh.to``: prosecutor of unit ``hanoi-bd``
- ``cuong.khoa``: a prosecutor of ``hanoi`` whose account is disabled (employeeType=disabled)
- ``dung.le``: in no role group
Every password is ``DIRECTORY_PASSWORD``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from web.settings import DirectorySettings

SUFFIX = "dc=vks,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "directory-admin-secret"
DIRECTORY_PASSWORD = "mật khẩu thư mục 2026"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

PEOPLE = {
    "ana.kiem": ("Lê Thị Ana", ("auditors", "unit-hanoi"), ""),
    "binh.to": ("Trần Văn Bình", ("prosecutors", "unit-hanoi-bd"), ""),
    "cuong.khoa": ("Phạm Cường", ("prosecutors", "unit-hanoi"), "disabled"),
    "dung.le": ("Lê Dũng", ("unit-hanoi",), ""),
}
ROLE_GROUPS = {"auditors": "auditor", "prosecutors": "prosecutor"}
UNIT_GROUPS = {"unit-hanoi": "hanoi", "unit-hanoi-bd": "hanoi-bd"}


@dataclass(frozen=True)
class Directory:
    url: str
    root: Path

    def settings(self, url: str | None = None) -> DirectorySettings:
        return DirectorySettings(
            url=url or self.url,
            user_base=f"ou=people,{SUFFIX}",
            user_filter="(&(objectClass=inetOrgPerson)(uid={username}))",
            disabled_filter="(employeeType=disabled)",
            group_base=f"ou=groups,{SUFFIX}",
            group_filter="(&(objectClass=groupOfNames)(member={dn}))",
            role_groups={f"cn={g},ou=groups,{SUFFIX}": r for g, r in ROLE_GROUPS.items()},
            unit_groups={f"cn={g},ou=groups,{SUFFIX}": u for g, u in UNIT_GROUPS.items()},
            timeout_seconds=2.0,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path) -> str:
    includes = "".join(f"include /etc/ldap/schema/{name}.schema\n" for name in SCHEMAS)
    return (
        f"{includes}"
        f"pidfile {root}/slapd.pid\n"
        f"argsfile {root}/slapd.args\n"
        "modulepath /usr/lib/ldap\n"
        "moduleload back_mdb\n"
        "database mdb\n"
        "maxsize 10485760\n"
        f'suffix "{SUFFIX}"\n'
        f'rootdn "{ADMIN_DN}"\n'
        f"rootpw {ADMIN_PASSWORD}\n"
        f"directory {root}/db\n"
        # Anyone may search (the console searches anonymously); passwords only by binding.
        "access to attrs=userPassword by anonymous auth by * none\n"
        "access to * by * read\n"
    )


def _seed() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: vks\no: VKS\n",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for uid, (name, _groups, kind) in PEOPLE.items():
        extra = f"employeeType: {kind}\n" if kind else ""
        entries.append(
            f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {name}\nsn: {name.split()[-1]}\ndisplayName: {name}\n{extra}"
            f"userPassword: {DIRECTORY_PASSWORD}\n"
        )
    groups = {g for _n, gs, _k in PEOPLE.values() for g in gs}
    for group in sorted(groups):
        members = "".join(
            f"member: uid={uid},ou=people,{SUFFIX}\n"
            for uid, (_n, gs, _k) in PEOPLE.items()
            if group in gs
        )
        entries.append(
            f"dn: cn={group},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: {group}\n{members}"
        )
    return "\n".join(entries)


@pytest.fixture(scope="session")
def directory() -> Iterator[Directory]:
    """A running slapd with the people above; stopped at the end of the session."""
    assert shutil.which("slapd") or Path("/usr/sbin/slapd").exists(), (
        "Debian's slapd package is missing: run scripts/setup"
    )
    root = Path(tempfile.mkdtemp(prefix="sealroom-ldap-"))
    (root / "db").mkdir()
    (root / "slapd.conf").write_text(_config(root), encoding="utf-8")
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    server = subprocess.Popen(
        ["/usr/sbin/slapd", "-d", "0", "-f", str(root / "slapd.conf"), "-h", f"{url}/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            seeded = subprocess.run(
                ["ldapadd", "-x", "-H", url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
                input=_seed(),
                capture_output=True,
                text=True,
                check=False,
            )
            if seeded.returncode == 0:
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"slapd did not come up: {seeded.stderr}")
            time.sleep(0.1)
        yield Directory(url=url, root=root)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
