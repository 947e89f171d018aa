"""Text out of the bytes real mail clients send, whatever they claim the charset is.

Labels lie in well-known ways: Chinese clients label GBK/GB18030 text `GB2312`, Japanese ones
put NEC/IBM vendor characters into `ISO-2022-JP`, Windows puts cp1252 quotes into `ISO-8859-1`.
Each label is read as the superset its senders really use; then the declared charset is tried,
then the common ones; and when nothing fits, the declared one with replacement characters, so
one bad byte never costs a whole part.
"""

from __future__ import annotations

import codecs
import dataclasses

# Label (lower case) -> the superset codec the senders of that label really produce.
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030",
    "csgb2312": "gb18030", "gb_2312-80": "gb18030", "chinese": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "cn-big5": "big5hkscs", "cp950": "big5hkscs",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932", "iso-2022-jp": "iso-2022-jp-vendor", "csiso2022jp": "iso-2022-jp-vendor",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "utf8": "utf-8", "unicode-1-1-utf-7": "utf-7",
}
# Tried in this order when the declared charset does not fit (or none was declared).
_FALLBACKS = ("utf-8", "gb18030")
# Single-byte labels that mislabelled UTF-8 hides behind (valid UTF-8 with non-ASCII is almost
# never intended cp1252).
_SINGLE_BYTE = {"cp1252"}
_ESC = 0x1B


@dataclasses.dataclass(frozen=True)
class Decoded:
    text: str
    # Why the text may not be what the sender meant ('' when it decoded cleanly).
    problem: str = ""


def decode_bytes(data: bytes, declared: str | None) -> Decoded:
    """`data` as text: the declared charset (as its real-world superset), else the common ones."""
    label = (declared or "").strip().strip('"').lower()
    codec = _SUPERSETS.get(label, label)
    if codec in _SINGLE_BYTE and (text := _strict(data, "utf-8")) is not None:
        return Decoded(text)
    if codec:
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text)
    for fallback in _FALLBACKS:
        if fallback != codec and (text := _strict(data, fallback)) is not None:
            why = f"declared {label!r} does not fit; read as {fallback}" if label else ""
            return Decoded(text, why)
    usable = codec if codec and _known(codec) else "utf-8"
    return Decoded(_lenient(data, usable),
                   f"not valid {label or 'text in any common charset'}; undecodable bytes were replaced")


def _known(codec: str) -> bool:
    if codec == "iso-2022-jp-vendor":
        return True
    try:
        codecs.lookup(codec)
    except LookupError:
        return False
    return True


def _strict(data: bytes, codec: str) -> str | None:
    try:
        if codec == "iso-2022-jp-vendor":
            return _iso2022jp_as_cp932(data).decode("cp932")
        return data.decode(codec)
    except (LookupError, UnicodeDecodeError, ValueError):
        return None


def _lenient(data: bytes, codec: str) -> str:
    if codec == "iso-2022-jp-vendor":
        return _iso2022jp_as_cp932(data).decode("cp932", errors="replace")
    return data.decode(codec, errors="replace")


def _iso2022jp_as_cp932(data: bytes) -> bytes:
    """ISO-2022-JP rewritten as Shift_JIS, so cp932 reads the NEC and IBM characters no ISO-2022-JP
    codec knows (①, ㈱, 髙 as Outlook and Japanese phones send them)."""
    out = bytearray()
    mode = "ascii"
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == _ESC:
            sequence = data[i + 1:i + 3]
            if sequence in (b"$B", b"$@"):
                mode = "jis"
            elif sequence == b"(I":
                mode = "kana"
            elif sequence in (b"(B", b"(J"):
                mode = "ascii"
            else:
                raise ValueError(f"unknown ISO-2022-JP escape {sequence!r}")
            i += 3
            continue
        if mode == "jis" and byte not in (0x0A, 0x0D):
            if i + 1 >= len(data):
                raise ValueError("ISO-2022-JP text ends inside a character")
            out += _jis_to_sjis(byte, data[i + 1])
            i += 2
            continue
        out.append(byte + 0x80 if mode == "kana" and 0x21 <= byte <= 0x5F else byte)
        i += 1
    return bytes(out)


def _jis_to_sjis(first: int, second: int) -> bytes:
    if not (0x21 <= first <= 0x7E and 0x21 <= second <= 0x7E):
        raise ValueError("byte outside the JIS X 0208 range")
    lead = ((first + 1) >> 1) + (0x70 if first <= 0x5E else 0xB0)
    # Odd rows use the lower half of the trail range (skipping 0x7F), even rows the upper half.
    trail = second + (0x20 if second >= 0x60 else 0x1F) if first % 2 else second + 0x7E
    return bytes((lead, trail))
