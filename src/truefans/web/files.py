"""Files a web request may name: only those uploaded to the workspace's upload folder.

An option that takes a file on the command line (``--profile`` of credibility and career) takes,
on the web, the name of a file uploaded to ``<upload folder>/profiles/``. The name is checked
before anything touches the file system (no absolute path, no ``..``, no separators, no control
characters) and the file it resolves to, symlinks followed, must still lie inside that folder.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import InvalidOption

PROFILES = "profiles"
#: a profile is YAML or TOML, and small
PROFILE_SUFFIXES = (".yaml", ".yml", ".toml")
MAX_PROFILE_BYTES = 256 * 1024
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ ()+-]{0,119}$")


def profiles_dir(upload_dir: Path) -> Path:
    return upload_dir / PROFILES


def check_name(name: str, flag: str = "profile") -> str:
    """The name itself, or InvalidOption when it is anything but a plain file name."""
    if (
        not name
        or "\x00" in name
        or PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or PureWindowsPath(name).drive
        or "/" in name
        or "\\" in name
        or name in (".", "..")
        or not _PLAIN.match(name)
    ):
        raise InvalidOption(
            f"--{flag} {name!r}: on the web this is the name of a file uploaded on the page "
            "(letters, digits, '.', '-', '_'; no folders), not a path"
        )
    return name


def resolve(upload_dir: Path, name: str, flag: str = "profile") -> Path:
    """The uploaded file called ``name``; InvalidOption when it is not there or leaves the
    folder (through a symlink or otherwise)."""
    check_name(name, flag)
    root = profiles_dir(upload_dir).resolve()
    candidate = profiles_dir(upload_dir) / name
    try:
        real = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError, RuntimeError) as e:
        raise InvalidOption(
            f"--{flag} {name!r}: no uploaded file of that name; upload it on the page first"
        ) from e
    if root not in real.parents or not real.is_file():
        raise InvalidOption(f"--{flag} {name!r}: not a file inside the upload folder")
    return real


def uploaded(upload_dir: Path) -> list[str]:
    """The names of the uploaded profiles (plain files inside the folder only)."""
    folder = profiles_dir(upload_dir)
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        try:
            resolve(upload_dir, p.name)
        except InvalidOption:
            continue
        out.append(p.name)
    return out
