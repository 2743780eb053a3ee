r"""Checksums and public sources of the data files, and a downloader.

Every file the loaders read is listed in :data:`SOURCES` with its SHA-256 and a
public URL (for MOSES, a member of the molsets 0.3.1 wheel on PyPI).
:func:`verified_path` finds a file (``$SCALES_DATA_DIR``, then the user cache),
downloads it into the cache when it is missing, and checks its SHA-256 once per
process. Set ``SCALES_OFFLINE=1`` to never touch the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .paths import DataNotFoundError, cache_dir, resolve

__all__ = [
    "SOURCES",
    "ChecksumError",
    "Source",
    "fetch",
    "sha256_file",
    "verified_path",
    "verify",
]

logger = logging.getLogger(__name__)

_GITHUB = "https://raw.githubusercontent.com"
_MOLSETS_WHEEL = (
    "https://files.pythonhosted.org/packages/ca/04/"
    "335f23e9ae95ca381ac7c3f335303dbbeb0f8a604d167891cf60c9360178/"
    "molsets-0.3.1-py3-none-any.whl"
)
_MOLSETS_SHA256 = "7f4450e3ebecebe79c3a2a55950c93daddee071120daf64a163d03481e811d34"


@dataclass(frozen=True)
class Source:
    """Where a data file comes from.

    Attributes:
        sha256: hex digest of the file itself.
        url: a public URL of the file, or of an archive holding it.
        member: the file's path inside the archive (``None``: ``url`` is the file).
        archive_sha256: hex digest of the archive, when there is one.
    """

    sha256: str
    url: str
    member: str | None = None
    archive_sha256: str | None = None


SOURCES: dict[str, Source] = {
    "expressions/equation2_15_dataset.txt": Source(
        "ae9850311e884f888491f56dca57ef3c2f9880899e63d26b5da3b71840591ca2",
        f"{_GITHUB}/mkusner/grammarVAE/HEAD/data/equation2_15_dataset.txt",
    ),
    "zinc/zinc250k_jtvae_valid.txt": Source(
        "ad7d9c2bfebd93ffda6c32ed0e89d1714ae1f592f6340c0e6ae057521bbae30d",
        f"{_GITHUB}/wengong-jin/icml18-jtnn/HEAD/data/zinc/valid.txt",
    ),
    "zinc/zinc250k_jtvae_test.txt": Source(
        "31f6ce92914814db33bf0dbfc45f3836193e27cb80a59c54d88bc05a1f5fab83",
        f"{_GITHUB}/wengong-jin/icml18-jtnn/HEAD/data/zinc/test.txt",
    ),
    "moses/train.csv.gz": Source(
        "786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c",
        _MOLSETS_WHEEL,
        "moses/dataset/data/train.csv.gz",
        _MOLSETS_SHA256,
    ),
    "moses/test.csv.gz": Source(
        "f896fbf3764f88d94670b9959e5872c600c12152a18233823e820761b7a791b2",
        _MOLSETS_WHEEL,
        "moses/dataset/data/test.csv.gz",
        _MOLSETS_SHA256,
    ),
    "checkpoints/paper/smiles_vocab.yaml": Source(
        "6ca7b857b04187942be892dfdfc3039c1632989e3ad56aa4e75476c077e43829",
        f"{_GITHUB}/OmerRonen/scales/HEAD/data/molecules/vocab.yaml",
    ),
    "rd_filters/rules.json": Source(
        "60911b2d7dc92e342fc7c159a46a0e8ec877ab177bbd8fa1b05cb2d322cef4ee",
        f"{_GITHUB}/pascalnotin/uncertainty_guided_optimization/HEAD/"
        "utils/rd_filters_data/rules.json",
    ),
    "rd_filters/alert_collection.csv": Source(
        "1dc2978ccbe2c4484018d357093755db2afc3e841c90c51c73aa30bc0b111885",
        f"{_GITHUB}/pascalnotin/uncertainty_guided_optimization/HEAD/"
        "utils/rd_filters_data/alert_collection.csv",
    ),
}


class ChecksumError(ValueError):
    """A data file's SHA-256 differs from the registry."""


_HASHES: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, computed once per (path, size, mtime).

    Args:
        path: the file.

    Returns:
        The hex digest.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def verify(relative: str, path: str | os.PathLike[str]) -> Path:
    """Check a file against the registry's SHA-256.

    Args:
        relative: the registry key, e.g. ``"zinc/zinc250k_jtvae_test.txt"``.
        path: the file to check.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        KeyError: when ``relative`` is not in :data:`SOURCES`.
        ChecksumError: on a mismatch; the message names the file and both digests.
    """
    expected = SOURCES[relative].sha256
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {relative!r} at {path}: sha256 {actual}, "
            f"expected {expected}. The file is corrupt or a different version; "
            "replace it with the published one (or delete it to download again)."
        )
    return Path(path)


def _offline() -> bool:
    return os.environ.get("SCALES_OFFLINE", "").lower() in ("1", "true", "yes")


def _download(url: str, dest: Path, sha256: str | None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, tmp)
            tmp.close()
            if sha256 is not None and sha256_file(tmp.name) != sha256:
                raise ChecksumError(f"download of {url} has the wrong sha256")
            os.chmod(tmp.name, 0o644)
            os.replace(tmp.name, dest)
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)


def fetch(relative: str) -> Path:
    """Download a registered file into the user cache (if not already there).

    Args:
        relative: the registry key.

    Returns:
        The path of the verified file in the cache.

    Raises:
        DataNotFoundError: when the file is missing and cannot be downloaded
            (offline, no network, HTTP error); the message says where to put it.
        ChecksumError: when the downloaded file differs from the registry.
    """
    if relative not in SOURCES:
        raise KeyError(f"{relative!r} is not a registered data file")
    source = SOURCES[relative]
    dest = cache_dir() / relative
    if dest.exists():
        return verify(relative, dest)
    if _offline():
        _raise_missing(relative, "downloads are disabled by SCALES_OFFLINE")
    logger.info("downloading %s from %s", relative, source.url)
    try:
        if source.member is None:
            _download(source.url, dest, source.sha256)
        else:
            archive = cache_dir() / "_downloads" / source.url.rsplit("/", 1)[-1]
            if not archive.exists():
                _download(source.url, archive, source.archive_sha256)
            _extract(archive, source.member, dest)
    except (OSError, zipfile.BadZipFile) as error:  # URLError is an OSError
        _raise_missing(relative, f"download from {source.url} failed: {error}")
    return verify(relative, dest)


def _extract(archive: Path, member: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        zipfile.ZipFile(archive) as zipped,
        zipped.open(member) as src,
        tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp,
    ):
        shutil.copyfileobj(src, tmp)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, dest)


def _raise_missing(relative: str, why: str) -> None:
    try:
        resolve(relative)
    except DataNotFoundError as error:
        raise DataNotFoundError(f"{error} ({why})") from None
    raise DataNotFoundError(f"data file {relative!r} not available ({why})")


def verified_path(relative: str, download: bool = True) -> Path:
    """Find a registered data file, download it if needed, and verify it.

    Args:
        relative: the registry key, e.g. ``"moses/test.csv.gz"``.
        download: try :func:`fetch` when the file is in neither place.

    Returns:
        The path of a file whose SHA-256 matches the registry.

    Raises:
        DataNotFoundError: when the file is missing (and cannot be downloaded).
        ChecksumError: on a checksum mismatch.
    """
    try:
        path = resolve(relative)
    except DataNotFoundError:
        if not download:
            raise
        return fetch(relative)
    return verify(relative, path)
