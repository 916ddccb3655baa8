"""`ReadOptions`: the one typed description of how to read a file.

What a file cannot say about itself (its encoding, how it writes numbers and dates, where
its header is, what its columns are called) is stated by whoever imports it: by hand on the
upload page or the command line, or by a saved import profile (`sop.ImportProfile`), whose
`options` are this dataclass as JSON. An import job keeps the options it was read with.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sop.extracts import Entity

ENCODINGS = {
    "": "UTF-8, or UTF-16 with its byte-order mark",
    "utf-8": "UTF-8",
    "windows-1252": "Windows-1252 (Excel's ANSI in Western Europe)",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "utf-16": "UTF-16 with a byte-order mark",
}
SEPARATORS = {
    "": "found from the header row",
    ",": "comma",
    ";": "semicolon",
    "\t": "tab",
    "|": "pipe",
}
# The forms an import may declare, named by how they write one thousand two hundred and
# thirty-four and a half: (decimal separator, thousands separator).
NUMBER_FORMATS = {
    "1234.5": (".", ""),
    "1,234.5": (".", ","),
    "1234,5": (",", ""),
    "1.234,5": (",", "."),
    "1 234,5": (",", " "),
    "1'234.5": (".", "'"),
}
# Dates and months as ERPs write them, besides ISO (2026-03-17, 2026-03) and Excel dates,
# which are always read. Names spell the form: dd day, mm month, yyyy or yy year, mon a
# month's English abbreviation (Mar, MAR). Two-digit years 69-99 are 1969-1999, 00-68 are
# 2000-2068, as in POSIX.
DATE_FORMATS = (
    "dd.mm.yyyy",
    "dd.mm.yy",
    "dd/mm/yyyy",
    "dd/mm/yy",
    "mm/dd/yyyy",
    "mm/dd/yy",
    "dd-mm-yyyy",
    "yyyy/mm/dd",
    "yyyymmdd",
    "dd-mon-yy",
    "dd-mon-yyyy",
)
# A month column also reads any date format (the day is dropped).
MONTH_FORMATS = (
    "yyyymm",
    "yyyy/mm",
    "yyyy.mm",
    "mm/yyyy",
    "mm.yyyy",
    "mm-yyyy",
    "mon-yy",
    "mon-yyyy",
    "mon yyyy",
)
NEGATIVE_FORMS = {
    "trailing_minus": "a trailing minus, as SAP writes them (12-)",
    "parentheses": "in parentheses, as accountants write them ((12))",
}
# Spreadsheets have at most 16,384 columns (XFD); a header further down than this is no
# header row someone would state.
MAX_HEADER_ROW = 10_000
MAX_COLUMN = 16_384
_COLUMN_RE = re.compile(r"[A-Z]{1,3}")


@dataclass(frozen=True)
class ReadOptions:
    """What a file cannot say about itself, stated by whoever imports it.

    Encoding and separator: empty reads UTF-8 (UTF-16 with its byte-order mark) and finds
    the separator from the header row; a stated encoding also makes text that looks
    decoded twice an error. Numbers: `decimal_separator` "." or ","; empty when not stated,
    and then a number that reads two ways (3.900, 1,390) is refused; `thousands_separator`
    applies only with a stated decimal separator; `trailing_minus` and `parentheses` read
    12- and (12) as -12. Dates: `date_format` and `month_format` name a form of
    DATE_FORMATS / MONTH_FORMATS (ISO and Excel dates are always read); `with_time` accepts
    a time of day after a date and drops it. Layout: `sheet` (XLSX; empty: the active one),
    `header_row` (1-based) and `first_column` (a letter) locate the header; `fill_merged`
    gives every cell of a merged range the range's value. Columns: `columns` maps a source
    column name to a documented one, `ignored` names source columns to drop (glob patterns:
    `Z*`, `*`), `constants` gives documented columns the file lacks one value for every row,
    `factors` multiplies a numeric column (a quantity in thousands: 1000).
    """

    encoding: str = ""
    separator: str = ""
    decimal_separator: str = ""
    thousands_separator: str = ""
    trailing_minus: bool = False
    parentheses: bool = False
    date_format: str = ""
    month_format: str = ""
    with_time: bool = False
    sheet: str = ""
    header_row: int = 1
    first_column: str = "A"
    fill_merged: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    constants: dict[str, str] = field(default_factory=dict)
    factors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding {self.encoding!r}: use one of {', '.join(ENCODINGS)}")
        if self.separator not in SEPARATORS:
            raise ValueError(f"separator {self.separator!r}: use a comma, semicolon, tab or pipe")
        if self.decimal_separator not in ("", ".", ","):
            raise ValueError(f"decimal separator {self.decimal_separator!r}: use . or ,")
        if self.thousands_separator and (
            self.thousands_separator == self.decimal_separator
            or (self.decimal_separator, self.thousands_separator) not in NUMBER_FORMATS.values()
        ):
            raise ValueError(
                f"thousands separator {self.thousands_separator!r} with decimal separator "
                f"{self.decimal_separator!r}: see NUMBER_FORMATS"
            )
        if self.date_format and self.date_format not in DATE_FORMATS:
            raise ValueError(f"date format {self.date_format!r}: use one of DATE_FORMATS")
        if self.month_format and self.month_format not in (*MONTH_FORMATS, *DATE_FORMATS):
            raise ValueError(f"month format {self.month_format!r}: use one of MONTH_FORMATS")
        if not 1 <= self.header_row <= MAX_HEADER_ROW:
            raise ValueError(f"header row {self.header_row}: a row from 1 to {MAX_HEADER_ROW}")
        if not _COLUMN_RE.fullmatch(self.first_column) or self.first_index >= MAX_COLUMN:
            raise ValueError(f"first column {self.first_column!r}: a column letter, A to XFD")
        for source, target in self.columns.items():
            if not source.strip() or not target.strip():
                raise ValueError("a column mapping needs a source name and a documented name")
        if any(not pattern.strip() for pattern in self.ignored):
            raise ValueError("an ignored column needs a name")
        for name, value in self.constants.items():
            if not name.strip() or not str(value).strip():
                raise ValueError(f"the constant for {name!r} needs a column and a value")
        for name, factor in self.factors.items():
            try:
                number = Decimal(str(factor))
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite() or number <= 0:
                raise ValueError(f"the factor of {name} is {factor!r}: a number more than 0")

    @classmethod
    def with_number_format(cls, number_format: str, **others) -> ReadOptions:
        """Options for a number format named as in NUMBER_FORMATS ("1.234,5"); "" states none."""
        decimal, thousands = NUMBER_FORMATS[number_format] if number_format else ("", "")
        return cls(decimal_separator=decimal, thousands_separator=thousands, **others)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReadOptions:
        """The options stored as JSON (a profile's, a job's); ValueError if they are not valid."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown read options: {', '.join(unknown)}")
        values = dict(data)
        if "ignored" in values:
            values["ignored"] = tuple(values["ignored"])
        for name in ("columns", "constants", "factors"):
            if name in values:
                values[name] = {str(k): str(v) for k, v in dict(values[name]).items()}
        return cls(**values)

    @classmethod
    def from_profile(cls, profile) -> ReadOptions:
        """The options a saved import profile states."""
        return cls.from_dict(profile.options)

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON, for a profile or a job; `from_dict` reads them back."""
        data = dataclasses.asdict(self)
        data["ignored"] = list(self.ignored)
        return data

    @property
    def stated(self) -> bool:
        """Whether anything is stated at all (the documented format otherwise)."""
        return self != ReadOptions()

    @property
    def first_index(self) -> int:
        """`first_column` as a 0-based index: A is 0, B 1, AA 26."""
        index = 0
        for letter in self.first_column:
            index = index * 26 + ord(letter) - ord("A") + 1
        return index - 1

    @property
    def number_format(self) -> str:
        """The name of the stated number format in NUMBER_FORMATS, or ""."""
        pair = (self.decimal_separator, self.thousands_separator)
        return next((name for name, p in NUMBER_FORMATS.items() if p == pair), "")

    def problems(self, entity: Entity) -> list[str]:
        """What these options say that the entity's documented columns contradict."""
        documented = {c.name: c for c in entity.columns}
        listed = ", ".join(documented)
        found = []
        targets: dict[str, str] = {}
        for source, target in self.columns.items():
            if target not in documented:
                found.append(
                    f"the mapping of {source!r} names {target!r}, which is not a {entity.name} "
                    f"column ({listed})"
                )
            elif target in targets:
                found.append(f"{targets[target]!r} and {source!r} are both mapped to {target}")
            targets[target] = source
        for name in self.constants:
            if name not in documented:
                found.append(f"the constant {name!r} is not a {entity.name} column ({listed})")
            elif name in targets:
                found.append(f"{name} has a constant and is mapped from {targets[name]!r}")
        for name in self.factors:
            if name not in documented or documented[name].kind not in ("decimal", "int"):
                numeric = ", ".join(
                    n for n, c in documented.items() if c.kind in ("decimal", "int")
                )
                found.append(
                    f"the factor for {name!r} needs a numeric {entity.name} column ({numeric})"
                )
        return found

    def described(self) -> list[str]:
        """What is stated, in words, for the pages and the command line."""
        said = []
        if self.encoding:
            said.append(f"encoding {ENCODINGS[self.encoding]}")
        if self.separator:
            said.append(f"separated by {SEPARATORS[self.separator]}")
        if self.number_format:
            said.append(f"numbers written {self.number_format}")
        said += [f"negatives with {NEGATIVE_FORMS[n]}" for n in NEGATIVE_FORMS if getattr(self, n)]
        if self.date_format:
            said.append(f"dates {self.date_format}")
        if self.month_format:
            said.append(f"months {self.month_format}")
        if self.with_time:
            said.append("dates may carry a time of day (dropped)")
        if self.sheet:
            said.append(f'sheet "{self.sheet}"')
        if (self.header_row, self.first_column) != (1, "A"):
            said.append(f"header on row {self.header_row} from column {self.first_column}")
        if self.fill_merged:
            said.append("merged cells filled")
        said += [f"{source} read as {target}" for source, target in self.columns.items()]
        if self.ignored:
            said.append(f"ignored columns: {', '.join(self.ignored)}")
        said += [f"{name} is {value} on every row" for name, value in self.constants.items()]
        said += [f"{name} multiplied by {factor}" for name, factor in self.factors.items()]
        return said
