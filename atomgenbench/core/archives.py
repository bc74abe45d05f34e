"""Reading archive members with a size cap (docs/inputs.md, "Input limits").

A 1.5 MB ``.csv.zip`` can unpack to 1.5 GiB. Every reader of a zip member in the toolkit
(``evaluate``/``compare`` inputs, ``validate``/``package``/``submit`` contribution files,
the importers) goes through :func:`read_member`, which trusts neither the size the archive
declares nor the stream: it refuses a member that declares more than the cap and stops
reading one byte past it.
"""

from __future__ import annotations

import zipfile

#: the largest CSV member (uncompressed): the biggest leaderboard file is about 1.3 MB
MAX_MEMBER_BYTES = 64 * 1024 * 1024
#: the most bytes read from all members of one archive (a zip of CIF files)
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


class ArchiveTooLarge(ValueError):
    """A member (or an archive in total) unpacks to more than its cap."""


def read_member(zf: zipfile.ZipFile, member: str | zipfile.ZipInfo, cap: int = MAX_MEMBER_BYTES) -> bytes:
    """The bytes of one member, refused when it declares or yields more than ``cap`` bytes."""
    info = member if isinstance(member, zipfile.ZipInfo) else zf.getinfo(member)
    if info.file_size > cap:
        raise ArchiveTooLarge(
            f"member {info.filename!r} unpacks to {info.file_size:,} bytes, over the {cap:,}-byte limit"
        )
    with zf.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise ArchiveTooLarge(f"member {info.filename!r} unpacks to more than {cap:,} bytes (its header says less)")
    return data


def read_members(zf: zipfile.ZipFile, names: list[str], total: int = MAX_ARCHIVE_BYTES) -> list[bytes]:
    """Several members, each capped, and all together at most ``total`` bytes."""
    out, used = [], 0
    for name in names:
        data = read_member(zf, name, min(MAX_MEMBER_BYTES, total - used))
        used += len(data)
        out.append(data)
    return out
