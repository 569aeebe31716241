"""Issue 18, items 4 and 5: one reader for every CSV b12sim accepts (b12sim/tables.py), and the
reproductions of the issue as regression tests: ``diagnose --csv``, ``compare --cohort`` /
``check_cohort`` and the study tables read the same way and number rows as a spreadsheet does."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import refused

import b12sim
from b12sim import tables, units
from b12sim.errors import InputError
from b12sim.policy.population import check_cohort
from b12sim.studies.table import COLUMNS, load

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples" / "patients.csv"



def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.fixture
def no_compare(monkeypatch):
    """Make the strategy comparison fail loudly, so a refusal is shown to come before it."""
    import b12sim.policy.compare

    def boom(*a, **k):
        raise AssertionError("the comparison started before the input was refused")

    monkeypatch.setattr(b12sim.policy.compare, "compare_strategies", boom)


# --------------------------------------------------------------------------- the reader

@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_delimiter_is_sniffed_from_the_header(tmp_path, sep):
    t = tables.read(_write(tmp_path / "t.csv", sep.join(["a", "b (pg/mL)", "c"]) + "\n" + sep.join("15x") + "\n"))
    assert list(t.columns) == ["a", "b (pg/mL)", "c"] and t.loc[2].tolist() == ["1", "5", "x"]


def test_commas_inside_quotes_do_not_decide_the_delimiter(tmp_path):
    t = tables.read(_write(tmp_path / "t.csv", '"a,b,c";d\n1;2\n'))
    assert list(t.columns) == ["a,b,c", "d"]


def test_rows_are_numbered_as_a_spreadsheet_with_blank_rows_counted(tmp_path):
    t = tables.read(_write(tmp_path / "t.csv", 'a,b\n1,2\n\n,\n3,"x\ny"\r\n5,6\n'))
    assert t.index.tolist() == [2, 5, 6] and t.index.name == "row"  # a quoted line break stays in its row
    assert t.loc[5, "b"] == "x\ny"


def test_short_rows_are_padded_and_empty_extra_cells_dropped(tmp_path):
    t = tables.read(_write(tmp_path / "t.csv", "a,b,c\n1\n1,2,3,,\n"))
    assert t.loc[2].tolist() == ["1", "", ""] and t.loc[3].tolist() == ["1", "2", "3"]


def test_a_row_with_more_values_than_the_header_is_refused_by_its_row(tmp_path):
    with pytest.raises(InputError, match=r"^t.csv row 4: got '4 cells'; allowed: at most 3 cells"):
        tables.read(_write(tmp_path / "t.csv", "a,b,c\n1,2,3\n\n1,2,3,4\n"))


def test_an_open_quote_is_refused_with_its_row(tmp_path):
    with pytest.raises(InputError, match=r"^t.csv row 3: .*check the quotes"):
        tables.read(_write(tmp_path / "t.csv", 'a,b\n1,2\n3,"4\n'))


@pytest.mark.parametrize("header, column, hint", [
    ("age,b12,", 3, "ends in a ','"),
    ("age;;b12", 2, "give the column a name"),
    ("age,b12,B12 ", 3, "columns 2 and 3 are both 'b12'"),
])
def test_empty_and_duplicate_headers_are_refused_naming_the_file_and_column(tmp_path, header, column, hint):
    with pytest.raises(InputError) as e:
        tables.read(_write(tmp_path / "t.csv", header + "\n60,200,1\n"), field="--csv")
    assert e.value.field == f"--csv t.csv row 1, column {column}" and hint in e.value.hint


@pytest.mark.parametrize("data, hint", [
    (b"", "empty"),
    (b"\n\n", "empty"),
    ("age,b12\n60,180 µg\n".encode("latin-1"), "not UTF-8 text (byte 0xb5 in row 2)"),
    ("age,b12\n60,180\n".encode("utf-16"), "UTF-16"),
    (b"age,b12\n", "no patient rows"),
    (b"\nage,b12\n60,180\n", "row 1"),
])
def test_unreadable_files_are_refused_saying_why(tmp_path, data, hint):
    with pytest.raises(InputError, match="^--csv") as e:
        tables.read(_write(tmp_path / "t.csv", data), field="--csv", what="patient")
    assert hint in str(e.value)


def test_a_byte_order_mark_is_dropped(tmp_path):
    t = tables.read(_write(tmp_path / "t.csv", "\ufeffage,b12\n60,180\n"))
    assert list(t.columns) == ["age", "b12"]


def test_a_folder_or_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="it is a folder"):
        tables.read(tmp_path, field="--cohort")
    with pytest.raises(InputError, match="no such file"):
        tables.read(tmp_path / "no.csv", field="--cohort")


def test_split_unit_and_key():
    assert tables.split_unit(" Serum B12 [pg/mL] ") == ("Serum B12", "pg/mL")
    assert tables.split_unit("b12") == ("b12", None)
    assert tables.key("  Serum B12 ") == "serum_b12"


def test_output_that_is_or_holds_an_input_isrefused(tmp_path):
    src = _write(tmp_path / "in.csv", "a\n1\n")
    for out in (src, tmp_path / "." / "in.csv", tmp_path):
        with pytest.raises(InputError, match="replace the input in.csv"):
            tables.check_not_input(out, [src], "--out")
    (tmp_path / "link.csv").hardlink_to(src)
    with pytest.raises(InputError, match="^--out"):
        tables.check_not_input(tmp_path / "link.csv", [src], "--out")
    tables.check_not_input(tmp_path / "other.csv", [src, None], "--out")


# --------------------------------------------------------------------------- item 5: diagnose --csv

def test_diagnose_csv_refuses_a_duplicate_column(capsys, tmp_path, cli):
    src = _write(tmp_path / "in.csv", "age,b12,b12\n60,200,400\n")
    refused(*cli("diagnose", "--csv", src)[::2], "--csv in.csv row 1, column 3", "columns 2 and 3 are both 'b12'")


def test_diagnose_csv_errors_name_spreadsheet_rows_across_blank_lines(capsys, tmp_path, cli):
    src = _write(tmp_path / "in.csv", "age,b12\n60,200\n\n\n61,abc\n")
    status, out, err = cli("diagnose", "--csv", src, "--draws", "20", "--no-explain")
    assert status == 0, err
    assert "  row 5: b12: got 'abc'" in err and "row 3" not in err
    assert len(pd.read_csv(io.StringIO(out))) == 2  # blank rows hold no patient


def test_diagnose_csv_refuses_a_trailing_comma_header(capsys, tmp_path, cli):
    src = _write(tmp_path / "in.csv", "age,b12,\n60,200,\n")
    line = refused(*cli("diagnose", "--csv", src)[::2], "--csv in.csv row 1, column 3", "ends in a ','")
    assert "Unnamed" not in line


@pytest.mark.parametrize("spelling", ["same", "dotted", "hard link"])
def test_diagnose_out_never_replaces_its_input(capsys, tmp_path, cli, spelling):
    src = _write(tmp_path / "in.csv", EXAMPLES.read_text(encoding="utf-8"))
    before = src.read_bytes()
    out = {"same": src, "dotted": tmp_path / "." / "in.csv", "hard link": tmp_path / "link.csv"}[spelling]
    if spelling == "hard link":
        out.hardlink_to(src)
    refused(*cli("diagnose", "--csv", src, "--out", out, "--force", "--draws", "20")[::2], "--out", "input in.csv")
    assert src.read_bytes() == before


def test_diagnose_api_reads_a_file_with_spreadsheet_rows(tmp_path):
    src = _write(tmp_path / "in.csv", "Age;B12 (pg/mL)\n72;180\n\n60;abc\n")
    res = b12sim.diagnose(src, draws=20, explain=False)
    assert res.index.tolist() == [2, 4] and res.loc[2, "error"] == "" and "b12" in res.loc[4, "error"]


def test_closed_stdout_ends_quietly(tmp_path):
    """``b12sim ... | head -1``: the reader has gone before the output is written."""
    p = subprocess.Popen([sys.executable, "-m", "b12sim.cli", "diagnose", "--csv", str(EXAMPLES), "--draws", "20",
                          "--no-explain"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and err == "", err


def test_broken_pipe_in_process_is_not_an_internal_error(capsys, monkeypatch):
    from b12sim.cli import main

    class Gone(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Gone())
    assert main(["regimens"]) == 141
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- item 4: compare --cohort

@pytest.mark.parametrize("data, words", [
    (b"", ["--cohort", "c.csv", "empty"]),
    ("age,cause\n70,di\xe9tary\n".encode("latin-1"), ["--cohort", "not UTF-8", "row 2"]),
    (b"age,cause,b12,vegan\n70,dietary,150,yes\n\n80,drug,150,maybe\n", ["--cohort c.csv row 4 (vegan)", "'maybe'", "yes/no"]),
    (b"age,cause,b12,B12\n70,drug,150,160\n", ["--cohort c.csv row 1, column 4", "both 'b12'"]),
    (b"age,cause,b12,serum_b12\n70,drug,150,160\n", ["both mean b12"]),
    (b"age,b12\n70,150\n", ["--cohort c.csv columns", "got ['age', 'b12']", "missing: cause"]),
    (b"age,cause,b12\n70,drug,150\n80,aliens,150\n", ["--cohort c.csv row 3 (cause)", "'aliens'"]),
    (b"age,cause,b12,oral_adherence\n70,drug,150,1.5\n", ["row 2 (oral_adherence)", "got 1.5;", "a share from 0 to 1"]),
    (b"age,cause,b12,\n70,drug,150,\n", ["column 4", "ends in a ','"]),
])
def test_compare_refuses_a_bad_cohort_file_before_simulating(capsys, tmp_path, cli, no_compare, data, words):
    src = _write(tmp_path / "c.csv", data)
    refused(*cli("compare", "--strategies", "no_treatment", "--cohort", src)[::2], *words)


def test_compare_refuses_people_with_a_cohort(capsys, tmp_path, cli, no_compare):
    src = _write(tmp_path / "c.csv", "age,cause,b12\n70,drug,150\n")
    refused(*cli("compare", "--strategies", "no_treatment", "--cohort", src, "--people", "64")[::2],
             "--people", "only without --cohort")


def test_compare_out_may_not_hold_the_cohort(capsys, tmp_path, cli, no_compare):
    res = tmp_path / "res"
    res.mkdir()
    src = _write(res / "summary.csv", "age,cause,b12\n70,drug,150\n")
    refused(*cli("compare", "--strategies", "no_treatment", "--cohort", src, "--out", res, "--force")[::2],
             "--out", "input summary.csv")


def test_cohort_semicolons_any_case_and_units_in_headers(tmp_path):
    src = _write(tmp_path / "c.csv", "Age;Cause;B12 (pg/mL);Vegan;Sex\n70;Dietary;180;yes;M\n\n80;drug;150;;\n")
    df = check_cohort(src)
    assert df["age"].tolist() == [70.0, 80.0] and df["cause"].tolist() == ["dietary", "drug"]
    assert df["b12"].tolist() == pytest.approx([units.convert(v, "pg/mL", "pmol/L", "b12") for v in (180, 150)])
    assert df["vegan"].tolist() == [1.0, 0.0] and df["sex"].tolist() == ["male", "female"]
    assert df["metformin"].tolist() == [0.0, 1.0]  # the cause implies its flag


def test_cohort_messages_show_numbers_as_python_does():
    frame = pd.DataFrame({"age": [70.0], "cause": ["dietary"], "b12": [100.0], "oral_adherence": [np.float64(1.5)]})
    with pytest.raises(InputError) as e:
        check_cohort(frame)
    assert str(e.value).startswith("cohort row 0 (oral_adherence): got 1.5;") and "np." not in str(e.value)
    frame = pd.DataFrame({"age": [np.int64(7)], "cause": ["dietary"], "b12": [100.0]}, index=[5])
    with pytest.raises(InputError, match=r"^cohort row 5 \(age\): got 7;"):
        check_cohort(frame)


def test_cohort_frame_with_a_repeated_column_isrefused():
    frame = pd.DataFrame([[70, "drug", 150, 160]], columns=["age", "cause", "b12", "b12"])
    with pytest.raises(InputError, match="'b12' is there twice"):
        check_cohort(frame)


def test_cohort_unit_where_none_belongs_and_unit_columns_arerefused():
    with pytest.raises(InputError, match=r"^cohort column 'cause \(x\)'"):
        check_cohort(pd.DataFrame({"age": [70], "cause (x)": ["drug"], "b12": [150]}))
    with pytest.raises(InputError, match="b12 \\(pg/mL\\)"):
        check_cohort(pd.DataFrame({"age": [70], "cause": ["drug"], "b12": [150], "b12_unit": ["pg/mL"]}))


def test_a_cohort_file_gives_the_same_comparison_as_its_frame(tmp_path):
    frame = pd.DataFrame({"age": [70, 80], "cause": ["dietary", "pernicious_anaemia"], "b12": [120.0, 90.0]})
    src = tmp_path / "c.csv"
    frame.rename(columns={"b12": "B12 (pmol/L)"}).to_csv(src, index=False, sep=";")
    kw = dict(draws=2, horizon_days=20, seed=3, progress=False)
    a = b12sim.compare_strategies(frame, ["no_treatment"], **kw).summary()
    b = b12sim.compare_strategies(str(src), ["no_treatment"], **kw).summary()
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- study tables

def test_study_table_headers_in_any_case_and_rows_across_blank_lines(tmp_path):
    raw = tables.read(ROOT / "data" / "validation" / "studies.csv").head(2).rename(columns=str.upper)
    src = tmp_path / "s.csv"

    def write(frame):  # a blank row after the header
        src.write_text(frame.to_csv(index=False).replace("\n", "\n\n", 1), encoding="utf-8")

    write(raw)
    rows = load(src)
    assert rows["row"].tolist() == [3, 4] and rows["id"].tolist() == raw["ID"].tolist()
    raw.iloc[1, list(raw.columns).index("DAY")] = "soon"
    write(raw)
    with pytest.raises(InputError, match=r"^s.csv row 4 \(day\): got 'soon'"):
        load(src)


def test_study_table_with_a_duplicate_header_isrefused(tmp_path):
    src = _write(tmp_path / "s.csv", ",".join([*COLUMNS, "Note"]) + "\n")
    with pytest.raises(InputError, match=r"studies s.csv row 1, column 19.*columns 18 and 19 are both 'note'"):
        load(src)
