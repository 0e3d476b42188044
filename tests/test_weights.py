import numpy as np
import pytest

from reportqa.errors import ModelError
from reportqa.weights import TableRows


@pytest.fixture
def table(tmp_path):
    values = np.random.default_rng(0).integers(0, 255, size=(1000, 24), dtype=np.uint8)
    np.save(tmp_path / "table.npy", values)
    return values, tmp_path / "table.npy"


def test_rows_read_one_by_one_equal_the_array_rows(table):
    values, path = table
    rows = TableRows(path)
    assert rows.shape == (1000, 24) and rows.dtype == np.uint8
    ids = np.array([[5, 999, 5], [0, 17, 5]])
    assert np.array_equal(rows[ids], values[ids])
    assert rows._whole is None  # a few rows never load the table


def test_many_rows_load_the_table_once_and_still_answer_the_same(table):
    values, path = table
    rows = TableRows(path, whole_after=50)
    ids = np.arange(40)
    assert np.array_equal(rows[ids], values[ids]) and rows._whole is None
    assert np.array_equal(rows[ids + 40], values[ids + 40])  # 80 rows asked: read whole
    assert rows._whole is not None
    assert np.array_equal(rows[np.array([3, 999])], values[[3, 999]])


def test_float_tables_and_empty_requests(tmp_path):
    values = np.random.default_rng(1).standard_normal((30, 7)).astype(np.float32)
    np.save(tmp_path / "f.npy", values)
    rows = TableRows(tmp_path / "f.npy")
    assert np.array_equal(rows[np.array([29, 0])], values[[29, 0]])
    assert rows[np.array([], dtype=np.int64)].shape == (0, 7)


def test_ids_outside_the_table_are_an_error_not_garbage(table):
    _, path = table
    with pytest.raises(IndexError):
        TableRows(path)[np.array([1000])]
    with pytest.raises(IndexError):
        TableRows(path)[np.array([-1])]


def test_only_row_major_two_dimensional_tables(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros(10, np.uint8))
    with pytest.raises(ValueError):
        TableRows(tmp_path / "flat.npy")


def test_a_cut_short_table_is_named_as_damaged_when_opened(table):
    _, path = table
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 24)  # the last row gone
    with pytest.raises(ModelError, match="damaged"):
        TableRows(path)
