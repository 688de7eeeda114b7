"""Loading RO frequency data: the HOST 2010 format, chip order, and every kind of bad input."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ropuf.host.dataset import (
    DatasetError,
    RODataset,
    chip_files,
    dataset_dir_from_env,
    load_chip,
    load_dataset,
)


def write_chip(path: Path, rows, trailing_comma: bool = True, newline: str = "\n") -> Path:
    """Write rows of numbers in the HOST 2010 layout (one line per RO)."""
    end = "," if trailing_comma else ""
    path.write_text("".join(",".join(str(v) for v in row) + end + newline for row in rows))
    return path


SMALL = [[197186313, 197282425, 197281624], [1.5, 2.25, 3.0], [0, 10, 20], [4e8, 5e8, 6e8]]


# --- well-formed input ----------------------------------------------------------------------------


def test_load_chip_reads_the_format(tmp_path):
    chip = load_chip(write_chip(tmp_path / "chip_formatted_1.csv", SMALL))
    assert chip.dtype == np.float64
    assert chip.shape == (4, 3)
    assert np.array_equal(chip, np.array(SMALL, dtype=np.float64))


@pytest.mark.parametrize("trailing_comma", [True, False])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_load_chip_accepts_variants(tmp_path, trailing_comma, newline):
    path = write_chip(tmp_path / "c.csv", SMALL, trailing_comma, newline)
    path.write_text(path.read_text() + "\n\n")  # blank lines at the end are harmless
    assert np.array_equal(load_chip(path), np.array(SMALL, dtype=np.float64))


def test_load_chip_agrees_with_numpy_loadtxt(tmp_path):
    rng = np.random.default_rng(5)
    rows = rng.integers(150_000_000, 250_000_000, size=(32, 7))
    path = write_chip(tmp_path / "c.csv", rows.tolist())
    expected = np.loadtxt(path, delimiter=",", usecols=range(7))
    assert np.array_equal(load_chip(path), expected)


def test_chips_are_ordered_by_number_not_by_name(tmp_path):
    for number in (10, 2, 1, 33):
        write_chip(tmp_path / f"chip_formatted_{number}.csv", [[number, number]] * 4)
    write_chip(tmp_path / "notes.csv", [[0, 0]] * 4)  # ignored: chip files are present
    (tmp_path / "README.md").write_text("not data")
    data = load_dataset(tmp_path, columns=2)
    assert data.names == (
        "chip_formatted_1",
        "chip_formatted_2",
        "chip_formatted_10",
        "chip_formatted_33",
    )
    assert data.freqs[:, 0, 0].tolist() == [1.0, 2.0, 10.0, 33.0]


def test_any_csv_is_used_when_there_are_no_chip_files(tmp_path):
    for name in ("board10.csv", "board2.csv", "alpha.csv"):
        write_chip(tmp_path / name, [[len(name)]] * 2)
    assert [p.name for p in chip_files(tmp_path)] == ["alpha.csv", "board2.csv", "board10.csv"]
    assert load_dataset(tmp_path, columns=1).names == ("alpha", "board2", "board10")


def test_dataset_shape_positions_and_immutability(tmp_path):
    for number in (1, 2, 3):
        write_chip(tmp_path / f"chip_formatted_{number}.csv", np.full((8, 5), number).tolist())
    data = load_dataset(tmp_path, expected_ro=8, columns=4)
    assert (data.n_chips, data.n_ro, data.n_samples, data.rows) == (3, 8, 5, 2)
    assert data.positions.tolist() == [
        [0, 0],
        [1, 0],
        [2, 0],
        [3, 0],
        [0, 1],
        [1, 1],
        [2, 1],
        [3, 1],
    ]
    assert data.means()[:, 0].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.columns = 2  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        data.freqs[0, 0, 0] = 5.0


def test_dataset_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ROPUF_HOST2010", str(tmp_path))
    assert dataset_dir_from_env() == tmp_path
    monkeypatch.setenv("ROPUF_HOST2010", "")
    assert dataset_dir_from_env() is None


# --- bad input ------------------------------------------------------------------------------------


def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)


def test_empty_folder(tmp_path):
    (tmp_path / "README.md").write_text("no data here")
    with pytest.raises(DatasetError, match=r"no chip files found .*point to the folder") as info:
        load_dataset(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"missing: not a folder; give the folder"):
        load_dataset(tmp_path / "missing")


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match=r"nope\.csv: cannot be read .*check the path"):
        load_chip(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    path = tmp_path / "chip_formatted_1.csv"
    path.write_text("\n\n")
    with pytest.raises(DatasetError, match=r"chip_formatted_1\.csv: the file is empty"):
        load_chip(path)


@pytest.mark.parametrize(
    ("bad", "shown"), [("19x7", "'19x7'"), ("", "an empty field"), ("0x10", "'0x10'")]
)
def test_non_numeric_field(tmp_path, bad, shown):
    path = tmp_path / "chip_formatted_4.csv"
    path.write_text(f"1,2,3,\n4,5,{bad},\n7,8,9,\n")
    expected = rf"chip_formatted_4\.csv, line 2, field 3: {shown} is not a number"
    with pytest.raises(DatasetError, match=expected):
        load_chip(path)


@pytest.mark.parametrize(("value", "shown"), [("-5", "-5.0"), ("nan", "nan"), ("inf", "inf")])
def test_values_that_are_not_frequencies(tmp_path, value, shown):
    path = tmp_path / "c.csv"
    path.write_text(f"1,2,\n3,{value},\n")
    with pytest.raises(DatasetError, match=rf"line 2, field 2: .*{shown}.* is not a frequency"):
        load_chip(path)


def test_ragged_lines(tmp_path):
    path = tmp_path / "chip_formatted_2.csv"
    path.write_text("1,2,3,\n4,5,6,\n7,8,\n")
    with pytest.raises(DatasetError, match=r"line 3: 2 samples where line 1 has 3.*truncated"):
        load_chip(path)


def test_blank_line_inside(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("1,2,\n\n3,4,\n")
    with pytest.raises(DatasetError, match=r"c\.csv, line 2: the line is empty"):
        load_chip(path)


def test_chips_of_different_shapes(tmp_path):
    write_chip(tmp_path / "chip_formatted_1.csv", [[1, 2, 3]] * 4)
    write_chip(tmp_path / "chip_formatted_2.csv", [[1, 2, 3]] * 4)
    write_chip(tmp_path / "chip_formatted_3.csv", [[1, 2]] * 4)
    expected = (
        r"chip_formatted_3\.csv: 4 ROs x 2 samples, but chip_formatted_1\.csv has 4 x 3; "
        r"all chips of a data set must have the same shape"
    )
    with pytest.raises(DatasetError, match=expected):
        load_dataset(tmp_path, columns=2)


def test_expected_ro_count(tmp_path):
    write_chip(tmp_path / "chip_formatted_1.csv", [[1, 2]] * 6)
    with pytest.raises(DatasetError, match=r"chip_formatted_1\.csv: 6 lines \(ROs\) where 512"):
        load_dataset(tmp_path, expected_ro=512)


def test_columns_must_divide_the_ro_count(tmp_path):
    write_chip(tmp_path / "chip_formatted_1.csv", [[1, 2]] * 6)
    with pytest.raises(DatasetError, match=r"columns=4 does not divide the 6 ROs per chip"):
        load_dataset(tmp_path, columns=4)
    with pytest.raises(DatasetError, match=r"columns must be a positive integer, not 0"):
        RODataset(np.ones((1, 6, 2)), ("a",), columns=0)
    with pytest.raises(DatasetError, match=r"2 names given for 1 chips"):
        RODataset(np.ones((1, 6, 2)), ("a", "b"), columns=3)
    with pytest.raises(DatasetError, match=r"freqs must have shape .* not \(6, 2\)"):
        RODataset(np.ones((6, 2)), ("a",), columns=3)


# --- the real data --------------------------------------------------------------------------------


def test_real_data_loads_fully(host2010):
    files = sorted(host2010.glob("chip_formatted_*.csv"))
    data = load_dataset(host2010, expected_ro=512)
    assert data.freqs.shape == (len(files), 512, 100)
    assert data.names[0] == "chip_formatted_1"
    numbers = [int(name.rsplit("_", 1)[1]) for name in data.names]
    assert numbers == sorted(numbers)
    # Spartan-3E ROs in this design run near 200 MHz (HOST 2010: 166-229 MHz in chips 1-40).
    assert data.freqs.min() > 1.0e8 and data.freqs.max() < 3.0e8
    # An independent parser agrees on the first chip.
    reference = np.loadtxt(host2010 / "chip_formatted_1.csv", delimiter=",", usecols=range(100))
    assert np.array_equal(data.freqs[0], reference)
    # Line 17 starts row 2 of the 32 x 16 grid (CLB X10Y9).
    assert data.positions[16].tolist() == [0, 1]
    assert data.positions[511].tolist() == [15, 31]
