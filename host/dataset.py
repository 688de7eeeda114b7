"""Load measured ring-oscillator frequencies: one CSV file per chip, one line per RO.

The format is that of the public Virginia Tech RO-PUF data set (Maiti, Casarona, McHale,
Schaumont, "A Large Scale Characterization of RO-PUF", HOST 2010): each chip is a file
``chip_formatted_N.csv`` whose line ``i`` holds the repeated frequency measurements of RO ``i``
in Hz, comma separated, usually with a trailing comma. The ROs sit row by row in a grid of
``columns`` ROs per row (16 in that data set: line 1 is CLB X10Y8, line 16 is X25Y8, line 17
starts the next row X10Y9, line 512 is X25Y39).

Which files make a data set (:func:`chip_files`): if the folder holds any
``chip_formatted_N.csv`` files, exactly those, ordered by ``N`` as a number (so chip 10 comes
after chip 9); other CSV files beside them are ignored. Otherwise every ``*.csv`` file in the
folder, ordered by name with runs of digits compared as numbers. Sub-folders are not searched.

The project does not ship the data. Point the tools at a local copy with the environment
variable ``ROPUF_HOST2010`` (:func:`dataset_dir_from_env`) or by passing the folder.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ropuf.spec.errors import RopufError

__all__ = [
    "DATA_ENV",
    "HOST2010_COLUMNS",
    "HOST2010_RO",
    "DatasetError",
    "RODataset",
    "chip_files",
    "dataset_dir_from_env",
    "load_chip",
    "load_dataset",
]

#: Environment variable naming a local folder of ``chip_formatted_N.csv`` files.
DATA_ENV = "ROPUF_HOST2010"
#: ROs per row of the HOST 2010 placement (32 rows of 16).
HOST2010_COLUMNS = 16
#: ROs per chip in the HOST 2010 data set.
HOST2010_RO = 512

_CHIP_NAME = re.compile(r"^chip_formatted_(\d+)\.csv$")
_DIGITS = re.compile(r"(\d+)")


class DatasetError(RopufError, ValueError):
    """A data set folder or chip file is missing, malformed or inconsistent."""


@dataclass(frozen=True, eq=False)
class RODataset:
    """Repeated frequency measurements of the ring oscillators of several chips.

    Parameters
    ----------
    freqs : numpy.ndarray, shape (n_chips, n_ro, n_samples)
        Frequencies in Hz (copied to a read-only float64 array).
    names : tuple of str
        One name per chip (the file stem when loaded by :func:`load_dataset`).
    columns : int, optional
        ROs per row of the placement grid; must divide ``n_ro``. Default 16 (HOST 2010).

    Attributes
    ----------
    n_chips, n_ro, n_samples, rows : int
        Sizes: chips, ROs per chip, samples per RO, rows of the grid (``n_ro // columns``).
    positions : numpy.ndarray of int, shape (n_ro, 2)
        Grid position ``(x, y)`` of each RO: ``x = i % columns`` (column), ``y = i // columns``
        (row). For HOST 2010 the CLB is ``X(10 + x)Y(8 + y)``.

    Raises
    ------
    DatasetError
        If the array is not three-dimensional, the names do not match the chips, or
        ``columns`` does not divide the RO count.
    """

    freqs: np.ndarray
    names: tuple[str, ...]
    columns: int = HOST2010_COLUMNS

    def __post_init__(self) -> None:
        freqs = np.array(self.freqs, dtype=np.float64)
        if freqs.ndim != 3 or 0 in freqs.shape:
            raise DatasetError(
                f"freqs must have shape (n_chips, n_ro, n_samples), none of them 0, "
                f"not {freqs.shape!r}"
            )
        freqs.setflags(write=False)
        object.__setattr__(self, "freqs", freqs)
        names = tuple(self.names)
        if len(names) != freqs.shape[0]:
            raise DatasetError(f"{len(names)!r} names given for {freqs.shape[0]!r} chips")
        object.__setattr__(self, "names", names)
        columns = self.columns
        if isinstance(columns, bool) or not isinstance(columns, int) or columns <= 0:
            raise DatasetError(f"columns must be a positive integer, not {columns!r}")
        if freqs.shape[1] % columns:
            raise DatasetError(
                f"columns={columns!r} does not divide the {freqs.shape[1]!r} ROs per chip; "
                "give the number of ROs per row of the placement grid"
            )

    @property
    def n_chips(self) -> int:
        """Number of chips."""
        return self.freqs.shape[0]

    @property
    def n_ro(self) -> int:
        """Number of ring oscillators per chip."""
        return self.freqs.shape[1]

    @property
    def n_samples(self) -> int:
        """Number of repeated measurements per RO."""
        return self.freqs.shape[2]

    @property
    def rows(self) -> int:
        """Rows of the placement grid."""
        return self.n_ro // self.columns

    @property
    def positions(self) -> np.ndarray:
        """Grid position ``(x, y)`` of each RO, shape ``(n_ro, 2)``."""
        index = np.arange(self.n_ro)
        return np.stack([index % self.columns, index // self.columns], axis=1)

    def means(self) -> np.ndarray:
        """Mean frequency of each RO over its samples, shape ``(n_chips, n_ro)``, in Hz."""
        return self.freqs.mean(axis=2)


def dataset_dir_from_env() -> Path | None:
    """The folder named by the environment variable ``ROPUF_HOST2010``, if it is set.

    Returns
    -------
    pathlib.Path or None
        The path as given (not checked), or None when the variable is unset or empty.
    """
    value = os.environ.get(DATA_ENV, "")
    return Path(value) if value else None


def _natural_key(path: Path) -> tuple[tuple[int, int | str], ...]:
    parts = _DIGITS.split(path.name)
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in parts)


def chip_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The chip files of a data set folder, in chip order (see the module notes for the rule).

    Parameters
    ----------
    folder : path-like
        The folder to list.

    Returns
    -------
    list of pathlib.Path
        Possibly empty.

    Raises
    ------
    DatasetError
        If ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(
            f"{root}: not a folder; give the folder that holds the chip_formatted_N.csv files "
            f"(or set {DATA_ENV})"
        )
    numbered = []
    for path in root.iterdir():
        match = _CHIP_NAME.match(path.name)
        if match and path.is_file():
            numbered.append((int(match.group(1)), path))
    if numbered:
        return [path for _, path in sorted(numbered)]
    others = [path for path in root.glob("*.csv") if path.is_file()]
    return sorted(others, key=_natural_key)


def _bad_field(path: Path, rows: list[bytes]) -> DatasetError:
    """Find the first field of ``rows`` that is not a number and describe it."""
    for line_number, row in enumerate(rows, start=1):
        for field_number, field in enumerate(row.split(b","), start=1):
            try:
                float(field)
            except ValueError:
                text = field.decode("utf-8", errors="replace").strip()
                shown = repr(text) if text else "an empty field"
                return DatasetError(
                    f"{path}, line {line_number}, field {field_number}: {shown} is not a number; "
                    "each line must hold frequencies in Hz separated by commas"
                )
    return DatasetError(f"{path}: the numbers could not be parsed; check the file's encoding")


def load_chip(path: str | os.PathLike[str], expected_ro: int | None = None) -> np.ndarray:
    """Read one chip file: one line per RO, comma-separated frequencies in Hz.

    A trailing comma on a line, surrounding spaces, CRLF line ends and blank lines at the end
    of the file are accepted.

    Parameters
    ----------
    path : path-like
        The CSV file.
    expected_ro : int, optional
        If given, the number of lines (ROs) the file must have.

    Returns
    -------
    numpy.ndarray, shape (n_ro, n_samples), float64
        Frequencies in Hz.

    Raises
    ------
    DatasetError
        If the file cannot be read, is empty, has a blank line, lines of different lengths, a
        field that is not a number, a negative or non-finite value, or the wrong number of ROs.
        The message names the file and the line.
    """
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{source}: cannot be read ({exc.strerror}); check the path") from exc
    lines = raw.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DatasetError(
            f"{source}: the file is empty; expected one line per RO holding its "
            "frequency samples in Hz, comma separated"
        )
    rows: list[bytes] = []
    width = 0
    for line_number, line in enumerate(lines, start=1):
        row = line.strip()
        if row.endswith(b","):
            row = row[:-1]
        if not row:
            raise DatasetError(
                f"{source}, line {line_number}: the line is empty; every line must hold the "
                "samples of one RO (remove blank lines)"
            )
        fields = row.count(b",") + 1
        if line_number == 1:
            width = fields
        elif fields != width:
            raise DatasetError(
                f"{source}, line {line_number}: {fields} samples where line 1 has {width}; "
                "every RO must have the same number of samples (is the file truncated?)"
            )
        rows.append(row)
    try:
        values = np.array(b",".join(rows).split(b","), dtype=np.float64)
    except ValueError:
        raise _bad_field(source, rows) from None
    values = values.reshape(len(rows), width)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        line_index, field_index = (int(i) for i in np.argwhere(bad)[0])
        raise DatasetError(
            f"{source}, line {line_index + 1}, field {field_index + 1}: "
            f"{values[line_index, field_index]!r} is not a frequency (negative or not finite)"
        )
    if expected_ro is not None and values.shape[0] != expected_ro:
        raise DatasetError(
            f"{source}: {values.shape[0]} lines (ROs) where {expected_ro} were expected; "
            "check that the file is complete, or pass the right expected_ro"
        )
    return values


def load_dataset(
    folder: str | os.PathLike[str],
    expected_ro: int | None = None,
    columns: int = HOST2010_COLUMNS,
) -> RODataset:
    """Load every chip file of a folder into one :class:`RODataset`.

    Parameters
    ----------
    folder : path-like
        Folder of ``chip_formatted_N.csv`` files (or, if it has none, of ``*.csv`` files).
    expected_ro : int, optional
        If given, every chip must have this many ROs (512 for HOST 2010).
    columns : int, optional
        ROs per row of the placement grid (default 16, HOST 2010).

    Returns
    -------
    RODataset
        The chips in file order, named by file stem.

    Raises
    ------
    DatasetError
        If the folder is missing or holds no chip file, if any file is malformed (see
        :func:`load_chip`), or if the chips differ in shape.
    """
    files = chip_files(folder)
    if not files:
        raise DatasetError(
            f"{Path(folder)}: no chip files found (chip_formatted_N.csv, or any *.csv); "
            f"point to the folder of the RO data (or set {DATA_ENV})"
        )
    first = load_chip(files[0], expected_ro)
    freqs = np.empty((len(files), *first.shape), dtype=np.float64)
    freqs[0] = first
    for index, path in enumerate(files[1:], start=1):
        chip = load_chip(path, expected_ro)
        if chip.shape != first.shape:
            raise DatasetError(
                f"{path}: {chip.shape[0]} ROs x {chip.shape[1]} samples, but {files[0].name} "
                f"has {first.shape[0]} x {first.shape[1]}; all chips of a data set must have "
                "the same shape (remove or fix the odd file)"
            )
        freqs[index] = chip
    return RODataset(freqs=freqs, names=tuple(path.stem for path in files), columns=columns)
