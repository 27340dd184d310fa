"""Zip bombs: an Office (OOXML) document's parts are measured before anything opens it.

A 1 MB PPTX can hold a part that inflates to gigabytes; LibreOffice would inflate it all.
``check_archive`` reads the central directory (each part's declared size, its compressed
size, the total) and, when asked, inflates every part's raw stream in small pieces,
counting, so a part that inflates past what it declares is caught too. Nothing is kept
in memory but one piece at a time.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.materials.content import Content, as_file
from zhanye_sdk.materials.limits import ConversionLimits

__all__ = ["check_archive"]

_PIECE = 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")
_RATIO_FLOOR = 1024 * 1024  # small parts may compress as well as they like


def _size(n: int, unit: str = "bytes") -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} {unit}"


def _size_zh(n: int) -> str:
    return _size(n, "字节")


def _bomb(en: str, zh: str) -> InvalidInput:
    return InvalidInput(
        f"{en}; the file looks like a zip bomb and is refused",
        zh=f"{zh}，疑似“压缩炸弹”，已拒绝；请另存为普通的 PPTX/DOCX 后重新上传",
    )


def check_archive(data: Content, limits: ConversionLimits, *, inflate: bool = True) -> None:
    """Refuse a zip whose parts inflate beyond ``limits``.

    Args:
        data: the zip (an OOXML document).
        limits: ``max_member_bytes``, ``max_archive_bytes``, ``max_ratio``, ``max_members``.
        inflate: also inflate every part to check its real size (slower; declared sizes
            are checked either way).

    Raises:
        InvalidInput: a part or the whole inflates too far, or the zip is damaged.
    """
    try:
        archive = zipfile.ZipFile(as_file(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InvalidInput(
            f"the document is a damaged zip archive ({exc})",
            zh="文档已损坏（压缩包无法读取），请重新保存后再上传",
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise _bomb(
                f"it has {len(infos)} parts, at most {limits.max_members}",
                f"文件内含 {len(infos)} 个部件，超过上限 {limits.max_members} 个",
            )
        total = 0
        for info in infos:
            _check_declared(info, limits)
            total += info.file_size
        if total > limits.max_archive_bytes:
            raise _bomb(
                f"its parts inflate to {_size(total)}, at most {_size(limits.max_archive_bytes)}",
                f"文件解压后共 {_size_zh(total)}，超过上限 {_size_zh(limits.max_archive_bytes)}",
            )
        if inflate:
            for info in infos:
                _check_inflated(data, info)


def _check_declared(info: zipfile.ZipInfo, limits: ConversionLimits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise _bomb(
            f"its part {info.filename!r} inflates to {_size(info.file_size)}, "
            f"at most {_size(limits.max_member_bytes)}",
            f"文件中的部件“{info.filename}”解压后有 {_size_zh(info.file_size)}，"
            f"超过上限 {_size_zh(limits.max_member_bytes)}",
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
        raise _bomb(
            f"its part {info.filename!r} inflates {ratio:.0f} times, "
            f"at most {limits.max_ratio:.0f}",
            f"文件中的部件“{info.filename}”压缩比为 {ratio:.0f}:1，"
            f"超过上限 {limits.max_ratio:.0f}:1",
        )


def _check_inflated(data: Content, info: zipfile.ZipInfo) -> None:
    """Inflate the part's raw stream as any reader would, however far it goes, counting.

    ``zipfile`` stops at the declared size; LibreOffice's reader need not, so the stream
    itself is measured, one bounded piece of output at a time.
    """
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InvalidInput(
            f"the document's part {info.filename!r} uses compression method "
            f"{info.compress_type}; Office documents use only stored or deflate",
            zh=f"文档中的部件“{info.filename}”使用了不支持的压缩方式，请重新保存后再上传",
        )
    header = data[info.header_offset : info.header_offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise InvalidInput(
            f"the document's part {info.filename!r} has no local header",
            zh=f"文档中的部件“{info.filename}”已损坏，请重新保存后再上传",
        )
    *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    raw = memoryview(data)[start : start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        seen = len(raw)
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        seen, pending = 0, bytes(raw)
        try:
            while pending and seen <= info.file_size and not inflater.eof:
                seen += len(inflater.decompress(pending, _PIECE))
                pending = inflater.unconsumed_tail
        except zlib.error as exc:
            raise InvalidInput(
                f"the document's part {info.filename!r} cannot be inflated ({exc})",
                zh=f"文档中的部件“{info.filename}”已损坏，请重新保存后再上传",
            ) from exc
    if seen > info.file_size:
        raise _bomb(
            f"its part {info.filename!r} inflates past the {_size(info.file_size)} it declares",
            f"文件中的部件“{info.filename}”解压后的大小超过其声明的 {_size_zh(info.file_size)}",
        )
