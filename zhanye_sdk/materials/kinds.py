"""What an uploaded file really is, decided by its content, never by its name.

Theory of operation: ``identify`` looks at the leading bytes (the magic numbers) and,
where a magic number is shared by many formats, inside the container:

- ``%PDF-`` with a ``%%EOF`` trailer that pdfium can open → PDF;
- the PNG / JPEG / GIF / WebP signatures, and Pillow can read the header → image;
- a zip holding ``[Content_Types].xml`` and ``ppt/presentation.xml`` → PPTX, or
  ``word/document.xml`` → DOCX (only the central directory is read, nothing is inflated);
- an OLE compound file with a ``PowerPoint Document`` stream → PPT, ``WordDocument`` → DOC;
- an ISO base media file whose first box is ``ftyp`` (and whose brand is not an image
  or audio brand) → MP4; an EBML header whose DocType is ``webm`` → WebM.

A file that is two of these at once (a PDF with a zip directory at its end, a zip or
OLE file with a PDF header in its first kilobyte) is a polyglot and is none of them.

Anything else gets a ``Finding`` that says, in words, what was found ("a Windows
executable", "a truncated PDF (no %%EOF trailer)", "a zip archive that is not a
PowerPoint or Word document"), so ``require_kind`` can refuse it with a message naming
both what was found and what is accepted. Pure functions, no I/O: safe on any bytes.
"""

from __future__ import annotations

import enum
import threading
import warnings
import zipfile
from collections.abc import Collection

import attrs
import olefile
import pypdfium2
from PIL import Image

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.materials.content import Content, as_file

__all__ = [
    "ContentKind",
    "DOCUMENT_KINDS",
    "Finding",
    "IMAGE_KINDS",
    "OFFICE_KINDS",
    "PDFIUM_LOCK",
    "VIDEO_KINDS",
    "identify",
    "require_kind",
]

#: PDFium keeps process-wide state and is not thread-safe; every use of pypdfium2 in
#: the package holds this lock (the one piece of module state, because pdfium's is).
PDFIUM_LOCK = threading.Lock()


class ContentKind(enum.StrEnum):
    """A file format the material library accepts."""

    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    GIF = "gif"
    WEBP = "webp"
    PPTX = "pptx"
    DOCX = "docx"
    PPT = "ppt"
    DOC = "doc"
    MP4 = "mp4"
    WEBM = "webm"

    @property
    def mime_type(self) -> str:
        """The MIME type to serve it with."""
        return _MIME[self]

    @property
    def extension(self) -> str:
        """The usual file name extension, without the dot."""
        return "jpg" if self is ContentKind.JPEG else self.value

    @property
    def label(self) -> str:
        """How people call it."""
        return _LABEL[self]


_MIME = {
    ContentKind.PDF: "application/pdf",
    ContentKind.PNG: "image/png",
    ContentKind.JPEG: "image/jpeg",
    ContentKind.GIF: "image/gif",
    ContentKind.WEBP: "image/webp",
    ContentKind.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ContentKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ContentKind.PPT: "application/vnd.ms-powerpoint",
    ContentKind.DOC: "application/msword",
    ContentKind.MP4: "video/mp4",
    ContentKind.WEBM: "video/webm",
}
_LABEL = {
    ContentKind.PDF: "PDF",
    ContentKind.PNG: "PNG image",
    ContentKind.JPEG: "JPEG image",
    ContentKind.GIF: "GIF image",
    ContentKind.WEBP: "WebP image",
    ContentKind.PPTX: "PowerPoint (PPTX)",
    ContentKind.DOCX: "Word (DOCX)",
    ContentKind.PPT: "PowerPoint 97-2003 (PPT)",
    ContentKind.DOC: "Word 97-2003 (DOC)",
    ContentKind.MP4: "MP4 video",
    ContentKind.WEBM: "WebM video",
}

IMAGE_KINDS = frozenset({ContentKind.PNG, ContentKind.JPEG, ContentKind.GIF, ContentKind.WEBP})
#: Documents LibreOffice turns into PDF before they are rendered to pages.
OFFICE_KINDS = frozenset({ContentKind.PPTX, ContentKind.DOCX, ContentKind.PPT, ContentKind.DOC})
DOCUMENT_KINDS = frozenset({ContentKind.PDF}) | OFFICE_KINDS
VIDEO_KINDS = frozenset({ContentKind.MP4, ContentKind.WEBM})


@attrs.frozen
class Finding:
    """What the content is: an accepted ``kind``, or ``None`` and a description of it."""

    kind: ContentKind | None
    description: str


def _found(kind: ContentKind) -> Finding:
    return Finding(kind, f"a {kind.label}")


def _other(description: str) -> Finding:
    return Finding(None, description)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# ftyp brands of still images and audio-only files, which share the MP4 container.
_NOT_VIDEO_BRANDS = {
    b"heic": "a HEIC image",
    b"heix": "a HEIC image",
    b"hevc": "a HEIC image sequence",
    b"mif1": "a HEIF image",
    b"msf1": "a HEIF image sequence",
    b"avif": "an AVIF image",
    b"avis": "an AVIF image sequence",
    b"crx ": "a Canon raw photo",
    b"M4A ": "an M4A audio file",
    b"M4B ": "an M4B audio book",
    b"M4P ": "a protected M4P audio file",
}
# ftyp brands (major or compatible) that mark a video browsers play as MP4.
_VIDEO_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"iso8", b"mp41", b"mp42", b"avc1"}
    | {b"M4V ", b"M4VH", b"M4VP", b"dash", b"f4v ", b"mmp4", b"MSNV", b"3gp4", b"3gp5"}
    | {b"3gp6", b"3g2a", b"XAVC"}
)
# Recognisable formats we do not accept, so the error can say what the file really is.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows executable (MZ header)"),
    (b"\x7fELF", "an ELF executable (a Linux program)"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable (a macOS program)"),
    (b"#!", "a script"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg media file"),
    (b"fLaC", "a FLAC audio file"),
    (b"{\\rtf", "an RTF document"),
)


def identify(data: Content) -> Finding:
    """Decide what ``data`` is from its content.

    Never raises on any input; the ``Finding`` says what was recognised.
    """
    if not data:
        return _other("an empty file")
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return _identify_pdf(data)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _identify_image(data, ContentKind.PNG)
    if head.startswith(b"\xff\xd8\xff"):
        return _identify_image(data, ContentKind.JPEG)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _identify_image(data, ContentKind.GIF)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _identify_image(data, ContentKind.WEBP)
    if head.startswith(b"RIFF"):
        return _other("a RIFF file (WAV or AVI), not a WebP image")
    if head.startswith(_ZIP_MAGICS):
        return _identify_zip(data)
    if head.startswith(_OLE_MAGIC):
        return _identify_ole(data)
    if head[4:8] == b"ftyp":
        return _identify_iso_media(data)
    if head.startswith(_EBML_MAGIC):
        return _identify_ebml(data)
    for magic, description in _KNOWN_OTHERS:
        if head.startswith(magic):
            return _other(description)
    if b"%PDF-" in data[:1024]:
        # Readers tolerate junk before the header, which is how PDF polyglots hide.
        return _other("a file with other data before its PDF header")
    if _looks_like_text(data[:4096]):
        lowered = data[:1024].lstrip().lower()
        if lowered.startswith((b"<!doctype html", b"<html")):
            return _other("an HTML page (add a web page as a link material instead)")
        return _other("a plain text file")
    return _other(f"unrecognised content (it starts with bytes {data[:8].hex(' ')})")


def require_kind(
    data: Content, accepted: Collection[ContentKind], *, what: str = "file"
) -> ContentKind:
    """The kind of ``data`` if it is one of ``accepted``.

    Raises:
        InvalidInput: the content is something else; the message names what was found
            and lists what is accepted.
    """
    finding = identify(data)
    if finding.kind is not None and finding.kind in accepted:
        return finding.kind
    allowed = ", ".join(kind.label for kind in ContentKind if kind in accepted)
    raise InvalidInput(
        f"this {what} is {finding.description}; accepted are: {allowed} "
        "(the type is decided by the content, not the file name)",
        zh=f"这个{'视频' if what == 'video' else '文件'}的内容不是可接受的类型"
        "（按文件内容判断，而非文件名），"
        f"可接受：{allowed}；请换一个文件再上传",
    )


def _identify_pdf(data: Content) -> Finding:
    # The trailer's %%EOF sits at the very end, give or take line ends and padding.
    if b"%%EOF" not in data[-1024:]:
        return _other("a truncated or damaged PDF (no %%EOF trailer at the end)")
    if _has_zip_directory(data):
        return _other("a PDF with a zip archive hidden inside (a polyglot file)")
    try:
        with PDFIUM_LOCK:
            document = pypdfium2.PdfDocument(as_file(data))
            try:
                pages = len(document)
            finally:
                document.close()
    except pypdfium2.PdfiumError as exc:
        reason = str(exc).rstrip(".")
        if "password" in reason.lower():
            return _other("a password-protected PDF (remove the password first)")
        return _other(f"a damaged PDF that cannot be opened ({reason})")
    if pages < 1:
        return _other("a PDF without any pages")
    return _found(ContentKind.PDF)


def _identify_image(data: Content, kind: ContentKind) -> Finding:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(as_file(data)) as image:
                image.load()  # decodes it all: a truncated image fails here, not on screen
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _other(f"a {kind.label} too large in pixels to be shown")
    except Exception:  # Pillow's plugins raise a zoo of exceptions on garbage
        return _other(f"a damaged or truncated {kind.label}")
    return _found(kind)


# The part that makes an OOXML package a presentation or a document; it must inflate.
_OOXML_MAIN_PARTS = {
    "ppt/presentation.xml": ContentKind.PPTX,
    "word/document.xml": ContentKind.DOCX,
}
_MAX_PART_BYTES = 16 * 1024 * 1024


def _has_zip_directory(data: Content) -> bool:
    """A zip's end-of-directory record, which zip readers find at the end of any file."""
    if b"PK\x05\x06" not in data[-66_000:]:
        return False
    try:
        return zipfile.is_zipfile(as_file(data))
    except Exception:  # a hostile directory is still a directory
        return True


def _unless_polyglot(data: Content, found: Finding, container: str) -> Finding:
    """``found``, unless PDF readers would see a PDF too (they look in the first kilobyte)."""
    if b"%PDF-" in data[:1024]:
        return _other(f"{container} with a PDF header inside (a polyglot file)")
    return found


def _identify_zip(data: Content) -> Finding:
    try:
        with zipfile.ZipFile(as_file(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                if "mimetype" in names and "content.xml" in names:
                    return _other("an OpenDocument file (ODP/ODT; save it as PPTX or DOCX)")
                return _other("a zip archive that is not a PowerPoint or Word document (OOXML)")
            for part, kind in _OOXML_MAIN_PARTS.items():
                if part in names:
                    for checked in ("[Content_Types].xml", part):
                        if not _is_xml_part(archive, checked):
                            return _other(f"a damaged {kind.label} (its {checked} is unreadable)")
                    return _unless_polyglot(data, _found(kind), f"a {kind.label}")
    except Exception:  # zipfile raises assorted errors on hostile central directories
        return _other("a damaged or truncated zip archive")
    if "xl/workbook.xml" in names:
        return _other("an Excel workbook (XLSX)")
    return _other("an Office Open XML package that is neither a presentation nor a document")


def _is_xml_part(archive: zipfile.ZipFile, name: str) -> bool:
    info = archive.getinfo(name)
    if info.file_size > _MAX_PART_BYTES:
        return False
    content = archive.read(name)  # checks the CRC too
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _identify_ole(data: Content) -> Finding:
    try:
        with olefile.OleFileIO(as_file(data)) as ole:
            streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=False)}
    except Exception:  # olefile raises OSError, struct.error, IndexError… on bad files
        return _other("a damaged OLE compound file (an old Office file that cannot be read)")
    if "PowerPoint Document" in streams:
        return _unless_polyglot(data, _found(ContentKind.PPT), "a PowerPoint 97-2003 file")
    if "WordDocument" in streams:
        return _unless_polyglot(data, _found(ContentKind.DOC), "a Word 97-2003 file")
    if "Workbook" in streams or "Book" in streams:
        return _other("an Excel 97-2003 workbook (XLS)")
    return _other("an OLE compound file that is neither a PowerPoint nor a Word document")


def _boxes(data: Content, start: int, end: int) -> list[tuple[bytes, int, int]] | None:
    """The ISO BMFF boxes in ``data[start:end]`` as (type, body start, body end).

    ``None`` when a box claims more bytes than there are.
    """
    boxes = []
    at = start
    while at + 8 <= end:
        size = int.from_bytes(data[at : at + 4], "big")
        box_type = data[at + 4 : at + 8]
        body = at + 8
        if size == 1:  # a 64-bit size follows the type
            if at + 16 > end:
                return None
            size = int.from_bytes(data[at + 8 : at + 16], "big")
            body = at + 16
        elif size == 0:  # the box runs to the end
            size = end - at
        if size < body - at or at + size > end:
            return None
        boxes.append((box_type, body, at + size))
        at += size
    return boxes


def _child(
    data: Content, box: tuple[bytes, int, int], wanted: bytes
) -> list[tuple[bytes, int, int]]:
    children = _boxes(data, box[1], box[2]) or []
    return [child for child in children if child[0] == wanted]


def _has_video_track(data: Content, moov: tuple[bytes, int, int]) -> bool:
    for trak in _child(data, moov, b"trak"):
        for mdia in _child(data, trak, b"mdia"):
            for hdlr in _child(data, mdia, b"hdlr"):
                # full box: version and flags (4), pre_defined (4), then the handler type
                if data[hdlr[1] + 8 : hdlr[1] + 12] == b"vide":
                    return True
    return False


def _identify_iso_media(data: Content) -> Finding:
    size = int.from_bytes(data[0:4], "big")
    if size < 16 or len(data) < 16 or size > len(data):
        return _other("a damaged ISO media file (its ftyp box is cut short)")
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, min(size, 256) - 3, 4)}
    described = _NOT_VIDEO_BRANDS.get(data[8:12])
    if described is not None:
        return _other(described)
    if data[8:12] == b"qt  ":
        return _other("a QuickTime movie (MOV); convert it to MP4")
    if brands.isdisjoint(_VIDEO_BRANDS):
        return _other(f"an ISO media file of an unknown brand {data[8:12]!r}")
    boxes = _boxes(data, 0, len(data))
    if boxes is None:
        return _other("a truncated or damaged MP4 (a box runs past the end of the file)")
    movie = [box for box in boxes if box[0] == b"moov"]
    if not movie:
        return _other("a truncated or damaged MP4 (it has no movie header, moov)")
    if not _has_video_track(data, movie[0]):
        return _other("an MP4 without a video track (audio only?)")
    return _found(ContentKind.MP4)


_EBML_HEADER, _DOCTYPE = 0x1A45DFA3, 0x4282
_SEGMENT, _TRACKS, _TRACK_ENTRY, _TRACK_TYPE = 0x18538067, 0x1654AE6B, 0xAE, 0x83
_UNKNOWN_SIZE = -1


def _read_vint(data: Content, at: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at ``at``: (value, next offset), or None.

    A size whose bits are all ones means "unknown" and reads as ``_UNKNOWN_SIZE``.
    """
    if at >= len(data):
        return None
    first = data[at]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        mask >>= 1
        length += 1
    if length > 8 or at + length > len(data):
        return None
    value = first if keep_marker else first & (mask - 1)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return _UNKNOWN_SIZE, at + length
    return value, at + length


def _elements(data: Content, start: int, end: int) -> list[tuple[int, int, int]]:
    """The complete EBML elements in ``data[start:end]`` as (id, body start, body end);
    an element of unknown size (live recordings) runs to ``end``."""
    found = []
    at = start
    while at < end:
        element = _read_vint(data, at, keep_marker=True)
        if element is None:
            break
        element_id, at = element
        length = _read_vint(data, at, keep_marker=False)
        if length is None:
            break
        size, at = length
        if size == _UNKNOWN_SIZE:
            found.append((element_id, at, end))
            break
        if at + size > end:
            break  # cut short: the file is truncated
        found.append((element_id, at, at + size))
        at += size
    return found


def _identify_ebml(data: Content) -> Finding:
    top = _elements(data, 0, len(data))
    if not top or top[0][0] != _EBML_HEADER:
        return _other("a damaged EBML (Matroska/WebM) file")
    header = top[0]
    doctypes = [e for e in _elements(data, header[1], header[2]) if e[0] == _DOCTYPE]
    if not doctypes:
        return _other("a damaged EBML (Matroska/WebM) file without a DocType")
    doctype = data[doctypes[0][1] : doctypes[0][2]].rstrip(b"\x00")
    if doctype == b"matroska":
        return _other("a Matroska (MKV) video; convert it to MP4 or WebM")
    if doctype != b"webm":
        return _other(f"an EBML file of type {doctype[:32]!r}")
    segments = [e for e in top[1:] if e[0] == _SEGMENT]
    if not segments:
        return _other("a truncated WebM (its segment is missing or cut short)")
    for tracks in (e for e in _elements(data, segments[0][1], segments[0][2]) if e[0] == _TRACKS):
        for entry in (e for e in _elements(data, tracks[1], tracks[2]) if e[0] == _TRACK_ENTRY):
            for field in _elements(data, entry[1], entry[2]):
                if field[0] == _TRACK_TYPE and data[field[1] : field[2]] == b"\x01":
                    return _found(ContentKind.WEBM)
    return _other("a WebM without a video track (audio only, or truncated)")


def _looks_like_text(sample: bytes) -> bool:
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is still text.
        return exc.start >= len(sample) - 3
    return True
