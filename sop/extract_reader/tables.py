"""Read a file's cells, CSV or XLSX, as a `Table` of text; no meaning is given to them yet.

A CSV is decoded in its stated encoding (else UTF-8, or UTF-16 behind its byte-order mark),
split by its stated separator (else the one of its `sep=` line or of its header row), and
normalised: CR-only line endings read as line breaks, text to Unicode NFC so that the two
spellings of an accented name are one. An XLSX sheet is read as its cells show: the sheet
named or the active one, every row whatever its declared range, merged cells filled when
stated. Both are cut to the stated header row and first column. Rows are numbered as a
spreadsheet shows them, so every later error names the row the admin sees.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
import pandas as pd

from sop.extract_reader.errors import ExtractRefused, refuse
from sop.extract_reader.options import ENCODINGS, SEPARATORS, ReadOptions

# Zip-bomb guards of XLSX uploads: sheet XML compresses 5 to 30 to 1; a member packed over
# 100 to 1 and unpacking to more than 10 MB is not a spreadsheet someone saved.
XLSX_MAX_RATIO = 100
XLSX_BOMB_MIN_BYTES = 10 * 1024 * 1024
XLSX_MAX_MEMBERS = 10_000
# An XLSX is streamed `chunk_bytes / this` rows at a time. A typical extract's CSV row is about
# 40 bytes, but a sheet's row passes through Python lists of cells before its table is built,
# so a chunk of XLSX rows costs about three times the memory of the same rows of CSV.
XLSX_ROW_BYTES = 128
# Rows read from the top of a file to find a header that is not where it was expected.
HEAD_SCAN_ROWS = 30
# A preview (`head`) reads at most this much of a CSV, and this many rows past its head, so
# blank and malformed rows do not leave it short.
HEAD_BYTES = 1 << 20
HEAD_SLACK = 100
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BOM_NAMES = {"utf-8": "UTF-8", "utf-16": "UTF-16"}
# Excel's first line naming the separator, which Excel itself hides.
_SEP_LINE_RE = re.compile(r"sep=([^\r\n\"])\r?\n", re.IGNORECASE)
_QUOTED_RE = re.compile(r'"[^"]*"')
_MERGES_RE = re.compile(rb"<(?:\w+:)?mergeCells\b")
_MERGE_RE = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"'
)


@dataclass
class Table:
    """A file's cells as text, indexed by spreadsheet row, and what reading them noticed.

    `frame` has one column per header cell, by position (0, 1 ...: names can be anything,
    even repeated), plus `__fields__` (a row's field count where it differs from the
    header's, else 0) and `__cut__` (the last row of a CSV that ends without a line break).
    `header` is the header cells' text, on spreadsheet row `header_row`; the table starts
    at column `first_index` (0 is A). `head` holds the file's first rows from its top, to
    find a header that is not where it was expected. `cell_problems` (row, position,
    reason) are cells whose text is not what the file holds, such as an XLSX formula
    without a computed value. `number_cells` marks, by position, the cells an XLSX typed as
    numbers: their text is the number's own, never to be read with a file's separators.
    """

    frame: pd.DataFrame
    header: list[str]
    header_row: int = 1
    first_index: int = 0
    head: list[list[str]] = field(default_factory=list)
    sheet: str = ""
    hidden_rows: int = 0
    cell_problems: pd.DataFrame | None = None
    number_cells: pd.DataFrame | None = None
    separator: str = ""
    last_row: int = 0


def read_table(
    source: Path | bytes,
    *,
    max_bytes: int,
    max_unpacked_bytes: int = 200 * 1024 * 1024,
    options: ReadOptions | None = None,
    head: int | None = None,
) -> Table:
    """The file's cells as text, indexed by spreadsheet row number.

    The size is checked before a byte is read, and an XLSX's zip directory before openpyxl
    unpacks anything (`max_unpacked_bytes`), so a hostile file is refused cheaply. With
    `head`, only about that many rows past the header are read (a CSV's first megabyte at
    most), for a preview.
    """
    options = options or ReadOptions()
    size = _checked_size(source, max_bytes=max_bytes)
    data = _read_bytes(source, head=head is not None)
    return _table_of(data, options, head=head, size=size, max_unpacked_bytes=max_unpacked_bytes)


def iter_tables(
    source: Path | bytes,
    *,
    max_bytes: int,
    chunk_bytes: int,
    max_unpacked_bytes: int = 200 * 1024 * 1024,
    options: ReadOptions | None = None,
) -> Iterator[tuple[Table, int, int]]:
    """The file's cells as successive tables of whole records: (table, bytes read, size).

    A CSV larger than `chunk_bytes` is read about `chunk_bytes` at a time, each table
    cut after a record (never inside a quoted line break), under the file's header, its
    rows numbered as in the whole file; memory stays bounded by the chunk, not the file.
    An XLSX sheet comes as tables of about as many rows as `chunk_bytes` of CSV would
    hold (`XLSX_ROW_BYTES` a row); a CSV of one chunk as one table.
    """
    options = options or ReadOptions()
    size = _checked_size(source, max_bytes=max_bytes)
    with _opened(source) as handle:
        data = handle.read(chunk_bytes)
        if data.startswith(b"PK\x03\x04"):
            data += handle.read()
            _check_xlsx_zip(data, max_unpacked_bytes=max_unpacked_bytes)
            rows = max(chunk_bytes // XLSX_ROW_BYTES, 1)
            for table, share in _xlsx_tables(data, options, head=None, chunk_rows=rows):
                yield table, round(size * share), size
            return
        if len(data) < chunk_bytes or data.startswith(b"\xd0\xcf\x11\xe0"):
            data += handle.read()
            table = _table_of(
                data, options, head=None, size=size, max_unpacked_bytes=max_unpacked_bytes
            )
            yield table, size, size
            return
        yield from _csv_chunks(handle, data, options, size=size, chunk_bytes=chunk_bytes)


def _checked_size(source: Path | bytes, *, max_bytes: int) -> int:
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    if size > max_bytes:
        raise refuse(
            0,
            "",
            f"{size:,} bytes",
            f"the file is {size_label(size)} ({size:,} bytes), larger than the limit of "
            f"{max_bytes:,} bytes ({size_label(max_bytes)}); split it into several files",
        )
    return size


def _opened(source: Path | bytes) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else Path(source).open("rb")


def _table_of(
    data: bytes, options: ReadOptions, *, head: int | None, size: int, max_unpacked_bytes: int
) -> Table:
    if not data.strip():
        raise refuse(1, "", "", "the file is empty")
    if data.startswith(b"PK\x03\x04"):
        _check_xlsx_zip(data, max_unpacked_bytes=max_unpacked_bytes)
        return _read_xlsx(data, options, head=head)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise refuse(1, "", "", "Excel 97-2003 (.xls) files are not accepted; save as .xlsx or CSV")
    return _read_csv(data, options, head=head, truncated=len(data) < size)


def _read_bytes(source: Path | bytes, *, head: bool) -> bytes:
    """The whole file, or for a preview the first HEAD_BYTES of a CSV (a zip needs all)."""
    if isinstance(source, bytes):
        return source if not head or source.startswith(b"PK") else source[:HEAD_BYTES]
    with Path(source).open("rb") as handle:
        data = handle.read(HEAD_BYTES if head else -1)
        if head and data.startswith(b"PK"):
            data += handle.read()
    return data


def size_label(n: int) -> str:
    """A size as people read it: 50.0 MB, 12.5 KB."""
    return f"{n / (1024 * 1024):,.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.1f} KB"


def column_letter(index: int) -> str:
    """A 0-based column index as a spreadsheet names it: 0 is A, 27 is AB."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# -- CSV ---------------------------------------------------------------------------------------


def _read_csv(data: bytes, options: ReadOptions, *, head: int | None, truncated: bool) -> Table:
    text, separator, cut = _csv_text(data, options, head=head, truncated=truncated)
    return _csv_table(text, separator, options, head=head, cut=cut)


def _csv_chunks(
    handle: BinaryIO, first: bytes, options: ReadOptions, *, size: int, chunk_bytes: int
) -> Iterator[tuple[Table, int, int]]:
    """A CSV read `chunk_bytes` at a time: each table holds the whole records read so far,
    under the header line, numbered from the row after the previous table's last."""
    codec, skip = _codec(first, options.encoding)
    decoder = codecs.getincrementaldecoder(codec)("strict")
    done, lines = len(first), 0

    def decoded(data: bytes, *, final: bool = False) -> str:
        nonlocal lines
        try:
            text = decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            raise _decode_refusal(exc, data, codec, options.encoding, lines_before=lines) from None
        lines += text.count("\n")
        return text

    text = decoded(first[skip:])
    cr_only = "\n" not in text and "\r" in text
    if cr_only:
        text = text.replace("\r", "\n")
    records, rest = _records_split(text)
    # The first table holds the header and at least one record.
    while records.count("\n") <= options.header_row:
        data = handle.read(chunk_bytes)
        done += len(data)
        text = rest + decoded(data, final=not data)
        if cr_only:
            text = text.replace("\r", "\n")
        records, rest = (records + text, "") if not data else _records_split(records + text)
        if not data:
            break
    prepared, separator, _ = _prepared_text(records, options, head=None, truncated=False)
    table = _csv_table(prepared, separator, options, head=None, cut=False)
    start = _line_start(prepared, options.header_row) or 0
    end = prepared.find("\n", start)
    header_line = prepared[start : end + 1]
    separator, row = table.separator, table.last_row
    yield table, done, size
    # The later tables: the header line, then the records, read as a file with its header on
    # row 1 whose rows are numbered after `row`.
    later = dataclasses.replace(options, header_row=1)
    while True:
        data = handle.read(chunk_bytes)
        done += len(data)
        text = rest + decoded(data, final=not data)
        if cr_only:
            text = text.replace("\r", "\n")
        records, rest = _records_split(text) if data else (text, "")
        if records.strip("\r\n"):
            if not unicodedata.is_normalized("NFC", records):
                records = unicodedata.normalize("NFC", records)
            table = _csv_table(
                header_line + records, separator, later, head=None, cut=False, row_base=row
            )
            row = table.last_row
            yield table, done, size
        if not data:
            return


def _csv_table(
    text: str,
    separator: str,
    options: ReadOptions,
    *,
    head: int | None,
    cut: bool,
    row_base: int | None = None,
) -> Table:
    """The prepared text's table, its header on line `options.header_row`; its rows are
    numbered from `row_base` + 1 (the row after the header's when None)."""
    header_row = options.header_row
    start = _line_start(text, header_row)
    if start is None:
        lines = text.count("\n") + (not text.endswith("\n"))
        raise refuse(
            header_row,
            "",
            "",
            f"the file has {lines:,} rows, so it has no header on row {header_row} (the header "
            "row the import states)",
        )
    end = text.find("\n", start)
    header_line = text[start : end if end >= 0 else len(text)].rstrip("\r")
    if not separator:
        top = _first_lines(text, HEAD_SCAN_ROWS)
        separator = _separator_of(header_line, row=header_row) or _separator_of(top) or ","
    try:
        header = next(csv.reader([header_line], delimiter=separator), [])
    except csv.Error as exc:
        raise refuse(header_row, "", "", _csv_reason(exc)) from None

    base = header_row if row_base is None else row_base
    body_text = text[start:]
    counts = _field_counts(body_text, separator, first_row=base)
    if counts.open_line is not None:
        if not cut:
            raise refuse(
                base + len(counts.fields) - 1,
                "",
                "",
                'this row opens a quote (") that is never closed: the file ends inside it, so '
                "it looks cut off; export it again",
            )
        # A preview's cut fell inside a quoted line break: leave that record out.
        body_text = "".join(io.StringIO(body_text, newline="").readlines()[: counts.open_line - 1])
        counts = _field_counts(body_text, separator, first_row=base)
    body = body_text.encode("utf-8")
    width = int(counts.fields[0])
    first = _first_column(options, width, "the header row")
    try:
        # usecols keeps rows with extra fields (cut to the header's width) so that frame
        # rows and records stay one to one; the counts above report the extra fields.
        frame = pd.read_csv(
            io.BytesIO(body),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            usecols=range(first, width),
            index_col=False,
            engine="c",
            encoding="utf-8",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise refuse(0, "", "", f"the file is not a readable CSV table: {exc}") from None

    fields = counts.fields[1:]
    if len(fields) != len(frame):  # a quoted line break pandas and the counter saw differently
        raise refuse(0, "", "", "the file's quoting could not be read; check the quote marks")
    frame.columns = range(width - first)
    frame.index = pd.Index(np.arange(base + 1, base + 1 + len(frame)), name="row")
    frame["__fields__"] = np.where(fields == width, 0, fields)
    if not cut and not body_text.endswith("\n"):
        frame["__cut__"] = frame.index == frame.index[-1] if len(frame) else []
    frame = frame[~counts.blank[1:]]
    if head is not None:
        frame = frame.iloc[:head]
    return Table(
        frame,
        header=(header + [""] * width)[first:width],
        header_row=header_row,
        first_index=first,
        head=_head_rows(text, separator),
        separator=separator,
        last_row=base + len(fields),
    )


def _csv_text(
    data: bytes, options: ReadOptions, *, head: int | None, truncated: bool
) -> tuple[str, str, bool]:
    """The file's text (decoded, NFC, LF or CRLF line ends, without a `sep=` line), the
    separator stated or declared ("" when neither), and whether the text was cut short (a
    preview's head): then its last row is no sign of a cut-off file.
    """
    return _prepared_text(
        _decode(data, options.encoding, truncated=truncated),
        options,
        head=head,
        truncated=truncated,
    )


def _prepared_text(
    text: str, options: ReadOptions, *, head: int | None, truncated: bool
) -> tuple[str, str, bool]:
    """The decoded text prepared as `_csv_text` says."""
    if "\n" not in text and "\r" in text:  # classic Mac OS line endings
        text = text.replace("\r", "\n")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    separator = options.separator
    declared = _SEP_LINE_RE.match(text)
    if declared:
        if separator and declared[1] != separator:
            raise refuse(
                1,
                "",
                declared[0].strip(),
                f"the file's first line declares its separator ({declared[0].strip()}), but "
                f"the import states {SEPARATORS[separator]}: correct the import profile",
            )
        separator = declared[1]
        # Excel hides this line, so the header below it is row 1, as Excel shows it.
        text = text[declared.end() :]
    # A preview reads the file's head: cut at a record's end, so no row reads as cut off.
    cut = truncated
    if head is not None:
        first = _first_lines(text, options.header_row + head + HEAD_SLACK)
        cut = truncated or len(first) < len(text)
        text = _whole_records(first) if cut else text
    if not text.strip():
        raise refuse(1, "", "", "the file is empty")
    return text, separator, cut


def _decode(data: bytes, encoding: str, *, truncated: bool) -> str:
    """The file's text in its stated encoding; UTF-8, or UTF-16 by its mark, when none is.

    A preview's bytes may end inside a character: it is left out, not refused.
    """
    codec, skip = _codec(data, encoding)
    data = data[skip:]
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(data, final=not truncated)
    except UnicodeDecodeError as exc:
        raise _decode_refusal(exc, data, codec, encoding, lines_before=0) from None


def _codec(data: bytes, encoding: str) -> tuple[str, int]:
    """The codec the file's first bytes and the stated encoding give, and how many bytes of
    byte-order mark to skip before decoding."""
    marked = (
        "utf-16" if data.startswith(_UTF16_BOMS) else "utf-8" if data.startswith(_UTF8_BOM) else ""
    )
    if marked and encoding not in ("", marked):
        name = _BOM_NAMES[marked]
        raise refuse(
            1,
            "",
            "",
            f"the file is {name} (it starts with {name}'s byte-order mark), not the "
            f"{ENCODINGS[encoding]} the import states: correct the import profile",
        )
    if encoding == "utf-16" and not marked:
        raise refuse(
            1,
            "",
            "",
            "the file has no UTF-16 byte-order mark, so it is not the UTF-16 the import states "
            "(save it as Unicode text or UTF-8)",
        )
    return marked or encoding or "utf-8", len(_UTF8_BOM) if marked == "utf-8" else 0


def _decode_refusal(
    exc: UnicodeDecodeError, data: bytes, codec: str, encoding: str, *, lines_before: int
) -> ExtractRefused:
    """The refusal of bytes that are not the codec's, on the line they are on (`data` follows
    `lines_before` lines of the file)."""
    row = lines_before + data[: exc.start].decode(codec, "replace").count("\n") + 1
    byte = data[exc.start : exc.start + 1].hex()
    if codec == "utf-8":
        reason = (
            f"not valid UTF-8 (byte 0x{byte}); save the file as UTF-8, or state its "
            "encoding (Windows-1252, Latin-1 ...) in an import profile"
        )
    else:
        reason = (
            f"not valid {ENCODINGS[encoding or codec]} (byte 0x{byte}): the file is in "
            "another encoding; correct the import profile"
        )
    return refuse(row, "", "", reason)


def _first_lines(text: str, count: int) -> str:
    end = -1
    for _ in range(count):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[: end + 1]


def _whole_records(text: str) -> str:
    """The text up to its last line break outside quotes, when it was cut for a preview."""
    records, _ = _records_split(text)
    return records or text


def _records_split(text: str) -> tuple[str, str]:
    """The text's whole records (up to its last line break outside quotes), and the rest."""
    last, inside = -1, False
    for match in re.finditer(r'["\n]', text):
        if match[0] == '"':
            inside = not inside
        elif not inside:
            last = match.start()
    return text[: last + 1], text[last + 1 :]


def _line_start(text: str, line: int) -> int | None:
    """Where 1-based `line` starts, or None when the text has fewer lines."""
    position = 0
    for _ in range(line - 1):
        found = text.find("\n", position)
        if found < 0:
            return None
        position = found + 1
    return position if text[position:].strip("\r\n") or line == 1 else None


def _separator_of(text: str, *, row: int | None = None) -> str | None:
    """The separator the text uses most outside quotes, None if it uses none.

    Given the header's `row`, a tie between two separators refuses the file: which one
    splits the columns would be a guess.
    """
    bare = _QUOTED_RE.sub("", text)
    counts = {mark: bare.count(mark) for mark in SEPARATORS if mark}
    most = max(counts.values())
    if most == 0:
        return None
    tied = [mark for mark, n in counts.items() if n == most]
    if len(tied) > 1 and row is not None:
        names = " and ".join(SEPARATORS[mark] for mark in tied)
        raise refuse(
            row,
            "",
            "",
            f"the header row has as many of each of {names}, so which one separates the "
            "columns is unclear: state the separator in an import profile",
        )
    return tied[0]


def _head_rows(text: str, separator: str) -> list[list[str]]:
    """The first rows of the file as cells, to find a header that is elsewhere."""
    rows = []
    reader = csv.reader(
        io.StringIO(_first_lines(text, HEAD_SCAN_ROWS), newline=""), delimiter=separator
    )
    try:
        for record in reader:
            rows.append(record)
    except csv.Error:
        pass
    return rows


class _Counts(NamedTuple):
    fields: np.ndarray  # fields per record, the header first
    blank: np.ndarray  # whether each record is a blank line
    open_line: int | None  # the line where a record starts whose quote never closes


def _field_counts(text: str, delimiter: str, *, first_row: int) -> _Counts:
    """Fields per record (header first), blank records, and a quote left open at the end."""
    if '"' not in text:
        # Without quotes every line is one record: count delimiters between line breaks.
        raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        breaks = np.flatnonzero(raw == 10)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [len(raw)]))
        if text.endswith("\n"):
            starts, ends = starts[:-1], ends[:-1]
        delims = np.flatnonzero(raw == ord(delimiter))
        counts = np.searchsorted(delims, ends) - np.searchsorted(delims, starts) + 1
        length = ends - starts
        crlf = (length > 0) & (raw[np.maximum(ends - 1, 0)] == 13)
        return _Counts(counts, (length - crlf) == 0, None)
    counts, blank = [], []
    line = last_start = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            last_start = line + 1
            line = reader.line_num
            counts.append(max(len(record), 1))
            blank.append(not record)
    except csv.Error as exc:
        raise refuse(first_row + reader.line_num - 1, "", "", _csv_reason(exc)) from None
    # The lenient reader takes a quote still open at the end as closed there; the strict
    # one, given the last record alone, says so.
    last = itertools.islice(io.StringIO(text, newline=""), last_start - 1, None)
    try:
        list(csv.reader(last, delimiter=delimiter, strict=True))
        open_line = None
    except csv.Error as exc:
        open_line = last_start if "unexpected end of data" in str(exc) else None
    return _Counts(np.asarray(counts), np.asarray(blank), open_line)


def _csv_reason(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        # No column holds more than a few hundred characters; a field this long is a
        # quote mark left open, or not an extract at all.
        return (
            f"a field is longer than {csv.field_size_limit():,} characters; check for a quote "
            "mark that is never closed"
        )
    return f"the file is not a readable CSV table: {exc}"


# -- XLSX --------------------------------------------------------------------------------------


def _check_xlsx_zip(data: bytes, *, max_unpacked_bytes: int) -> None:
    """Refuse a zip that is not a workbook, or that would unpack to far more than it weighs.

    The sizes come from the zip's central directory. Python's zipfile stops a member at its
    declared size (and fails its CRC check), so a member lying about its size cannot unpack
    to more than the size checked here.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise refuse(0, "", "", f"not a readable XLSX workbook (a damaged zip: {exc})") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise refuse(0, "", "", "not an XLSX workbook (the zip holds no xl/workbook.xml)")
    if len(members) > XLSX_MAX_MEMBERS:
        raise refuse(
            0,
            "",
            f"{len(members):,} parts",
            f"the workbook has {len(members):,} parts, more than {XLSX_MAX_MEMBERS:,}; "
            "save the sheet alone as .xlsx or CSV",
        )
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_unpacked_bytes:
        raise refuse(
            0,
            "",
            f"{unpacked:,} bytes",
            f"the workbook would unpack to {size_label(unpacked)}, over the limit of "
            f"{size_label(max_unpacked_bytes)}; save it as CSV or split it",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > XLSX_BOMB_MIN_BYTES and ratio > XLSX_MAX_RATIO:
            raise refuse(
                0,
                "",
                member.filename,
                f"the workbook part {member.filename} is compressed {ratio:,.0f} to 1, more "
                f"than a spreadsheet ever is ({XLSX_MAX_RATIO} to 1): it looks like a zip bomb",
            )


def _first_column(options: ReadOptions, width: int, table: str) -> int:
    """The index of the table's first column, refused when `table` (its header row or
    sheet, as the message names it) is `width` columns wide and has none there."""
    if options.first_index >= width:
        raise refuse(
            options.header_row,
            "",
            "",
            f"{table} has {width} column{'s' if width != 1 else ''}, so no table starts at "
            f"column {options.first_column} (the first column the import states)",
        )
    return options.first_index


def _read_xlsx(data: bytes, options: ReadOptions, *, head: int | None) -> Table:
    """The sheet as one table (a preview's `head` rows, or every row)."""
    ((table, _),) = _xlsx_tables(data, options, head=head, chunk_rows=None)
    return table


def _xlsx_tables(
    data: bytes, options: ReadOptions, *, head: int | None, chunk_rows: int | None
) -> Iterator[tuple[Table, float]]:
    """The sheet as successive tables of at most `chunk_rows` rows (None: one table), each
    numbered as the spreadsheet shows its rows, with the share of the sheet read so far.

    openpyxl's read-only mode streams the rows, so only a chunk's cells are held at a time;
    hidden rows, formulas without a value and merged ranges come from a pass over the
    sheet's XML first (they are few).
    """
    import openpyxl

    header_row = options.header_row
    last_row = None if head is None else max(header_row + head + HEAD_SLACK, HEAD_SCAN_ROWS)
    top_rows = max(header_row, HEAD_SCAN_ROWS)
    try:
        _read_only_size_from_head()
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not book.worksheets:
            raise ValueError("it has no worksheet")
        sheet = _choose_sheet(book, options.sheet)
        # Read-only mode stops at the range the sheet's <dimension> declares, and writers
        # get it wrong: forget it and read until the rows end.
        sheet.reset_dimensions()
        # openpyxl has no public name for the sheet's part in the zip.
        with book._archive.open(sheet._worksheet_path) as source:
            merged = _merged_ranges(source)
        marks = _SheetMarks(book._archive.getinfo(sheet._worksheet_path).file_size)
        rows = _sheet_rows(book, sheet, last_row, marks)
        top, top_typed = _xlsx_rows(itertools.islice(rows, top_rows))
        if not top:
            raise refuse(1, "", "", f'the sheet "{sheet.title}" of the workbook is empty')
        if len(top) < header_row:
            raise refuse(
                header_row,
                "",
                "",
                f'the sheet "{sheet.title}" has {len(top):,} rows, so it has no header on row '
                f"{header_row} (the header row the import states)",
            )
        chunk = _XlsxChunk(
            sheet.title, top, top_typed, merged, marks.hidden, marks.uncomputed, options
        )
        body, typed = top[header_row:], top_typed[header_row:]
        read = len(top)
        emitted = False
        while True:
            more, more_typed = _xlsx_rows(
                itertools.islice(rows, None if chunk_rows is None else chunk_rows)
            )
            body += more
            typed += more_typed
            read += len(more)
            if not more or (chunk_rows is not None and len(body) >= chunk_rows):
                if body or not emitted:
                    keep = len(body) if chunk_rows is None else min(len(body), chunk_rows)
                    first_number = read - len(body) + 1
                    yield (
                        chunk.table(body[:keep], typed[:keep], first_number, head=head),
                        marks.share if more else 1.0,
                    )
                    emitted = True
                    body, typed = body[keep:], typed[keep:]
                if not more and not body:
                    break
        book.close()
    except ExtractRefused:
        raise
    except Exception as exc:
        # openpyxl reads the sheet lazily and a damaged or hand-made part fails in many ways
        # (XML syntax, missing parts, bad attributes): each means this is no workbook to load.
        raise refuse(0, "", "", f"not a readable XLSX workbook ({exc})") from None


def _xlsx_rows(rows) -> tuple[list[list[str]], list[list[bool]]]:
    """Sheet rows as cell texts, and which cells are numbers; trailing empty cells dropped."""
    texts, typed = [], []
    for values in rows:
        values = list(values)
        while values and values[-1] is None:  # styled but empty cells past the data
            values.pop()
        texts.append([_cell_text(v) for v in values])
        typed.append([isinstance(v, int | float) and not isinstance(v, bool) for v in values])
    return texts, typed


@dataclass
class _XlsxChunk:
    """What every chunk of one sheet shares: its top rows (the header and the rows searched
    for a header elsewhere), the merged ranges and the marks of its XML."""

    title: str
    top: list[list[str]]
    top_typed: list[list[bool]]
    merged: list[tuple[int, int, int, int]]
    hidden: set[int]
    uncomputed: list[tuple[int, int]]
    options: ReadOptions
    tops: dict[tuple[int, int], tuple[str, bool]] = field(default_factory=dict)

    @property
    def _top_numbers(self) -> range:
        return range(1, len(self.top) + 1)

    def table(
        self, body: list[list[str]], typed: list[list[bool]], first_number: int, *, head
    ) -> Table:
        """The table of spreadsheet rows first_number, first_number + 1, ... (`body`)."""
        options, header_row = self.options, self.options.header_row
        problems = self._merge(body, typed, first_number)
        header = self.top[header_row - 1]
        width = max([len(header), *(len(r) for r in body)])
        first = _first_column(options, width, f'the sheet "{self.title}"')
        if head is not None:
            body, typed = body[: head + HEAD_SLACK], typed[: head + HEAD_SLACK]
        last_number = first_number + len(body) - 1
        index = pd.Index(range(first_number, last_number + 1), name="row")
        frame = pd.DataFrame(
            [(r + [""] * width)[first:width] for r in body],
            columns=range(width - first),
            dtype=str,
            index=index,
        )
        frame["__fields__"] = 0
        number_cells = pd.DataFrame(
            [(t + [False] * width)[first:width] for t in typed],
            columns=range(width - first),
            index=index,
            dtype=bool,
        )
        problems += [(r, c, "formula without a computed value: open and save the file in Excel")
                     for r, c in self.uncomputed]  # fmt: skip
        in_table = [
            (r, c - 1 - first, reason)
            for r, c, reason in problems
            if first_number <= r <= last_number and first < c <= width
        ]
        if head is not None and len(frame) > head:
            frame, number_cells = frame.iloc[:head], number_cells.iloc[:head]
        return Table(
            frame,
            header=(header + [""] * width)[first:width],
            header_row=header_row,
            first_index=first,
            head=self.top[:HEAD_SCAN_ROWS],
            sheet=self.title,
            hidden_rows=len(self.hidden & set(frame.index)),
            cell_problems=pd.DataFrame(
                in_table or None, columns=["row", "position", "reason"]
            ).astype({"row": np.int64, "position": np.int64}),
            number_cells=number_cells,
        )

    def _merge(
        self, body: list[list[str]], typed: list[list[bool]], first_number: int
    ) -> list[tuple[int, int, str]]:
        """Merged ranges over these rows (a range may start in an earlier chunk, or in the
        top rows above the header); see `_merge_cells`."""
        last_number = first_number + len(body) - 1
        # The rows as `_merge_cells` wants them: 1-based by spreadsheet row, the top rows and
        # the tops of ranges from earlier chunks put back where they were.
        rows: dict[int, list[str]] = {}
        kinds: dict[int, list[bool]] = {}
        for n, (cells, flags) in enumerate(zip(self.top, self.top_typed, strict=True), start=1):
            rows[n], kinds[n] = cells, flags
        for i, (cells, flags) in enumerate(zip(body, typed, strict=True)):
            rows[first_number + i], kinds[first_number + i] = cells, flags
        ranges = []
        for first_row, first_col, last_row, last_col in self.merged:
            if last_row < first_number or first_row > last_number:
                continue
            if first_row < first_number and first_row not in self._top_numbers:
                # The range's top cell was read by an earlier chunk: put it back.
                value, number = self.tops.get((first_row, first_col), ("", False))
                cells = rows.setdefault(first_row, [])
                flags = kinds.setdefault(first_row, [])
                cells += [""] * (first_col - len(cells))
                flags += [False] * (first_col - len(flags))
                cells[first_col - 1], flags[first_col - 1] = value, number
            ranges.append((first_row, first_col, last_row, last_col))
        problems = _merge_cells(_RowsView(rows), _RowsView(kinds), ranges, self.options)
        for first_row, first_col, last_row, _ in ranges:
            if last_row > last_number and first_row in rows:
                cells, flags = rows[first_row], kinds[first_row]
                if first_col <= len(cells):
                    self.tops[(first_row, first_col)] = (cells[first_col - 1], flags[first_col - 1])
        return problems


class _RowsView:
    """Rows by 1-based spreadsheet number as the list `_merge_cells` indexes (row - 1);
    rows it does not hold read as empty."""

    def __init__(self, rows: dict[int, list]):
        self.rows = rows
        self.length = max(rows, default=0)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> list:
        return self.rows.setdefault(index + 1, [])


def _choose_sheet(book, name: str):
    """The sheet named, else the active sheet: the one Excel opens on, if it is visible.

    A workbook's first sheet is often a hidden or stale copy; the active sheet is the one
    its author last looked at. A hidden active sheet leaves the choice open, so it is refused.
    """
    names = ", ".join(f'"{s.title}"' for s in book.worksheets)
    if name:
        for sheet in book.worksheets:
            if sheet.title.strip().lower() == name.strip().lower():
                return sheet
        raise refuse(0, "", name, f'the workbook has no sheet "{name}" (its sheets: {names})')
    sheet = book.active
    if sheet is None:
        raise refuse(0, "", "", f"the workbook has no active sheet: name the sheet to import "
                     f"(its sheets: {names})")  # fmt: skip
    if sheet.sheet_state != "visible":
        raise refuse(
            0,
            "",
            sheet.title,
            f'the workbook\'s active sheet "{sheet.title}" is hidden, so which sheet to read is '
            f"unclear: name the sheet to import (its sheets: {names})",
        )
    return sheet


_DIMENSION_RE = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\bref=\"([^\"]*)\"")
_SHEET_DATA_RE = re.compile(rb"<(?:[\w.-]+:)?sheetData\b")
# The most of a sheet's XML read for its <dimension>: what comes before <sheetData> (views,
# column widths, properties) is small.
SHEET_HEAD_BYTES = 1024 * 1024


def _read_only_size_from_head() -> None:
    """Make openpyxl's read-only sheets read their declared size from the XML's head only.

    openpyxl (3.1) looks for a sheet's <dimension> as each read-only sheet is opened,
    parsing until <sheetData> ends and keeping every element it passed: on a sheet without
    a <dimension> (streaming writers and many ERP exports leave it out) that is a parse of
    the whole sheet, held in memory: 58 MB and 15 s for 760,000 rows, before any row is
    read. The schema puts <dimension> before <sheetData>, so the bytes before <sheetData>
    hold it if anything does; the rows are still read until they end (`_sheet_rows`).
    """
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    def _get_size(sheet) -> None:
        head = b""
        with sheet._get_source() as source:
            while len(head) < SHEET_HEAD_BYTES and not _SHEET_DATA_RE.search(head):
                chunk = source.read(64 * 1024)
                if not chunk:
                    break
                head += chunk
        match = _DIMENSION_RE.search(head.split(b"sheetData", 1)[0])
        try:
            bounds = range_boundaries(match.group(1).decode()) if match else None
        except (ValueError, TypeError):
            bounds = None  # a <dimension> that names no range: as if there were none
        if bounds is not None and None not in bounds:
            sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row = bounds

    ReadOnlyWorksheet._get_size = _get_size


@dataclass
class _SheetMarks:
    """What one pass over a sheet's XML notes besides the values: the hidden rows, the (row,
    column) of formulas without a computed value, and how much of the XML it has read."""

    size: int  # bytes of the sheet's XML, unpacked
    read: int = 0
    hidden: set[int] = field(default_factory=set)
    uncomputed: list[tuple[int, int]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return min(self.read / self.size, 1.0) if self.size else 1.0


class _Counted:
    """A file object that adds up the bytes read from it into `marks.read`."""

    def __init__(self, source, marks: _SheetMarks):
        self.source, self.marks = source, marks

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.marks.read += len(data)
        return data


def _sheet_rows(book, sheet, last_row: int | None, marks: _SheetMarks) -> Iterator[tuple]:
    """The sheet's rows as tuples of cell values (a missing row as an empty tuple), up to
    `last_row`, read in one streaming pass that also notes in `marks` the hidden rows and
    the formulas without a computed value, which openpyxl's read-only mode drops.

    openpyxl's own read-only loop parses each row with `WorkSheetParser.parse_row` but
    leaves every cleared row element in the tree (and a row's attributes in a dict) until
    the sheet ends: about 130 bytes a row. This loop parses with the same `parse_row`, so
    values, dates and shared strings are read exactly as openpyxl reads them, and drops
    each row once read, so memory stays flat however long the sheet.
    """
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.functions import iterparse

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    sheet_data, row_tag, formula, value = (f"{main}{t}" for t in ("sheetData", "row", "f", "v"))
    with book._archive.open(sheet._worksheet_path) as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        rows_parent = None
        expected = 1
        for event, element in iterparse(_Counted(source, marks), events=("start", "end")):
            if event == "start":
                if element.tag == sheet_data:
                    rows_parent = element
                continue
            if element.tag != row_tag:
                continue
            number, cells = parser.parse_row(element)
            parser.row_dimensions.clear()
            if last_row is not None and number > last_row:
                break
            if element.get("hidden") in ("1", "true"):
                marks.hidden.add(number)
            for child, cell in zip(element, cells, strict=True):
                # A computed empty text is an empty <v> in a cell typed "str"; any other
                # formula with no value was never computed.
                if child.find(formula) is not None:
                    computed = child.find(value)
                    if computed is None or (not computed.text and child.get("t") != "str"):
                        marks.uncomputed.append((number, cell["column"]))
            if rows_parent is not None:
                rows_parent.remove(element)
            values = [None] * max((cell["column"] for cell in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            while expected < number:
                expected += 1
                yield ()
            if number >= expected:
                expected = number + 1
                yield tuple(values)


def _merged_ranges(source) -> list[tuple[int, int, int, int]]:
    """The merged ranges (first row, first column, last row, last column; 1-based) of a
    sheet's XML. They come after every cell, so the XML is scanned as bytes for them: a
    preview then costs one unzip of the sheet, not a parse of it."""
    from openpyxl.utils.cell import column_index_from_string

    tail, found = b"", None
    for chunk in iter(lambda: source.read(1 << 20), b""):
        if found is not None:
            found += chunk
            continue
        buffer = tail + chunk
        start = _MERGES_RE.search(buffer)
        if start is None:
            tail = buffer[-32:]
        else:
            found = bytearray(buffer[start.start() :])
    ranges = []
    for match in _MERGE_RE.finditer(found or b""):
        first_col, first_row, last_col, last_row = (g.decode() if g else "" for g in match.groups())
        ranges.append(
            (
                int(first_row),
                column_index_from_string(first_col),
                int(last_row or first_row),
                column_index_from_string(last_col or first_col),
            )
        )
    return ranges


def _merge_cells(
    rows: list[list[str]],
    typed: list[list[bool]],
    merged: list[tuple[int, int, int, int]],
    options: ReadOptions,
) -> list[tuple[int, int, str]]:
    """Give every cell of a merged range its value, as the sheet shows it, when the import
    says so; otherwise the range's other cells are problems: they read empty but are not.

    Returns (row, column, reason) of those problems, 1-based.
    """
    problems = []
    for first_row, first_col, last_row, last_col in merged:
        if first_row > len(rows):
            continue
        top = rows[first_row - 1]
        value = top[first_col - 1] if first_col <= len(top) else ""
        if value == "":
            continue
        number = typed[first_row - 1][first_col - 1]
        ref = f"{column_letter(first_col - 1)}{first_row}:{column_letter(last_col - 1)}{last_row}"
        for r in range(first_row, min(last_row, len(rows)) + 1):
            cells, kinds = rows[r - 1], typed[r - 1]
            if len(cells) < last_col:
                cells += [""] * (last_col - len(cells))
                kinds += [False] * (last_col - len(kinds))
            for c in range(first_col, last_col + 1):
                if (r, c) == (first_row, first_col):
                    continue
                if options.fill_merged:
                    cells[c - 1], kinds[c - 1] = value, number
                else:
                    problems.append(
                        (
                            r,
                            c,
                            f"part of the merged cells {ref}, whose value ({value[:40]!r}) Excel "
                            f"shows here but keeps in {ref.split(':')[0]} only: state in the "
                            "import profile that merged cells are filled, or unmerge them",
                        )
                    )
    return problems


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and not value.isascii():
        return unicodedata.normalize("NFC", value)
    return str(value)
