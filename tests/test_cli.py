"""The command line: reports, --json, CSV files, and refusal of bad input.

A few tests run the real console entry (``python -m b12sim.cli``) in a subprocess to
check exit status and that no traceback reaches the user; the many bad-input cases
call :func:`b12sim.cli.main` in process, which is the same code without ~1.5 s of
start-up each. Probabilities are not pinned (the shipped posterior may be
recalibrated); only properties are asserted.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import b12sim
from b12sim import DISCLAIMER
from b12sim.fedosov import CATEGORIES
from b12sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples" / "patients.csv"
RESULT_COLUMNS = ["p_deficient", "p_deficient_lo", "p_deficient_hi", "p_folate_deficient", "error"]


def run(*args, cwd=None):
    """Run the CLI as a user would; return the CompletedProcess."""
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    env.pop("B12SIM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "b12sim.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=env)




def assert_refused(status, out, err, *words):
    assert status == 2, (status, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def write_patients(path: Path, extra_rows: str = "") -> pd.DataFrame:
    text = EXAMPLES.read_text(encoding="utf-8") + extra_rows
    path.write_text(text, encoding="utf-8")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


BAD_ROWS = (
    'K,"text B12",abc,,,,,50,,no,no,no,no,no,no\n'
    'L,"no age",200,,0.3,,,,,no,no,no,no,no,no\n'
    'M,"B12 in ng/mL",0.3,,,,,50,,no,no,no,no,no,no\n'
)


# --------------------------------------------------------------------------- real processes

def test_report_for_one_patient():
    r = run("diagnose", "--b12", "180 pg/mL", "--mma", "0.52", "--folate", "18", "--age", "72", "--egfr", "85")
    assert r.returncode == 0, r.stderr
    assert "P(true B12 deficiency):" in r.stdout
    assert "%" in r.stdout.split("P(true B12 deficiency):")[1].splitlines()[0]
    assert "credible interval" in r.stdout
    assert DISCLAIMER in r.stdout
    assert "MMA" in r.stdout and "serum B12" in r.stdout  # contributions are listed
    assert "Traceback" not in r.stderr


def test_json_for_one_patient():
    r = run("diagnose", "--b12", "95", "--holotc", "15", "--mma", "1.8", "--hcy", "32", "--age", "68",
            "--vegan", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for k in ("p_deficient", "interval", "p_folate_deficient", "contributions", "cb12", "cb12_category"):
        assert k in d
    lo, hi = d["interval"]
    assert len(d["interval"]) == 2
    assert 0 <= lo <= d["p_deficient"] <= hi <= 1
    assert 0 <= d["p_folate_deficient"] <= 1
    assert set(d["contributions"]) == {"b12", "holotc", "mma", "hcy"}
    assert all(isinstance(v, float) for v in d["contributions"].values())
    assert isinstance(d["cb12"], float)  # all four cB12 markers given
    assert d["cb12_category"] in CATEGORIES
    assert d["inputs"]["b12"] == 95
    assert "vegan" in d.get("risk_factors", d["inputs"])  # the flag given is not lost
    assert d["disclaimer"] == DISCLAIMER


def test_bad_value_in_a_real_process():
    r = run("diagnose", "--b12", "abc", "--age", "60")
    assert_refused(r.returncode, r.stdout, r.stderr, "b12", "'abc'", "5 to 50000 pmol/L")
    assert r.stdout == ""


def test_csv_file_scored_with_bad_rows_reported(tmp_path):
    src = tmp_path / "in.csv"
    table = write_patients(src, BAD_ROWS)
    out = tmp_path / "out.csv"
    r = run("diagnose", "--csv", src, "--out", out, "--draws", "80")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    # bad rows reported on stderr with spreadsheet row numbers (header = row 1)
    assert "3 of 13 rows could not be scored" in r.stderr
    assert "row 12: b12: got 'abc'" in r.stderr
    assert "row 13: age:" in r.stderr
    assert "row 14: b12:" in r.stderr and "ng/mL" in r.stderr
    res = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(res) == len(table)
    pd.testing.assert_frame_equal(res[list(table.columns)], table)  # every input row and column, unchanged
    for c in RESULT_COLUMNS:
        assert c in res.columns
    bad = res["error"] != ""
    assert res.loc[bad, "patient"].tolist() == ["K", "L", "M"]
    p = pd.to_numeric(res.loc[~bad, "p_deficient"])
    assert p.between(0, 1).all() and p.notna().all()
    assert (res.loc[bad, "p_deficient"] == "").all()
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left nothing behind


def test_version_and_regimens():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"b12sim {b12sim.__version__}"
    r = run("regimens")
    assert r.returncode == 0, r.stderr
    from b12sim.regimens import preset_table

    names = preset_table()["name"].tolist()
    assert names
    for n in names:
        assert n in r.stdout


# --------------------------------------------------------------------------- in process

@pytest.mark.parametrize("args, words", [
    (["--b12", "-5", "--age", "60"], ["b12", "5 to 50000"]),
    (["--b12", "1e7", "--age", "60"], ["b12", "5 to 50000"]),
    (["--b12", "0.2", "--age", "60"], ["b12", "looks like ng/mL"]),
    (["--b12", "nan", "--age", "60"], ["b12", "not measured"]),
    (["--b12", "inf", "--age", "60"], ["b12"]),
    (["--b12", "", "--mma", "0.3", "--age", "60"], ["b12", "''"]),
    (["--b12", "180 furlongs", "--age", "60"], ["b12 unit", "furlongs", "pg/mL"]),
    (["--b12", "200"], ["age", "required", "18 to 110"]),
    (["--age", "60"], ["markers", "b12", "mma"]),
    (["--b12", "200", "--age", "6"], ["age", "18 to 110"]),
    (["--b12", "200", "--age", "60", "--egfr", "0"], ["egfr", "1 to 200"]),
    (["--b12", "200", "--age", "60", "--draws", "0"], ["--draws", "from 1 to"]),
    (["--b12", "200", "--age", "60", "--draws", "many"], ["--draws", "many"]),
    (["--b12", "200", "--age", "60", "--weight", "70"], ["unrecognized arguments", "--weight"]),
    (["--b12", "200", "--age", "60", "--out", "x.csv"], ["--out", "only together with --csv"]),
    (["--out", "x.csv"], ["--out", "--csv"]),
])
def test_bad_options(capsys, tmp_path, monkeypatch, args, words, cli):
    monkeypatch.chdir(tmp_path)
    assert_refused(*cli("diagnose", *args), *words)
    assert not (tmp_path / "x.csv").exists()


def test_no_command_prints_the_usage(capsys, cli):
    status, out, err = cli()
    assert status == 2 and out == ""
    assert err.startswith("usage: b12sim") and "Traceback" not in err
    for command in ("diagnose", "simulate", "decide", "calibrate", "compare", "strategies", "regimens", "demo"):
        assert f"\n    {command} " in err, command  # each listed with its one-line description


def test_unusual_value_warns_on_stderr(capsys, cli):
    status, out, err = cli("diagnose", "--b12", "200", "--folate", "2", "--age", "60", "--json")
    assert status == 0
    assert json.loads(out)["inputs"]["folate"] == 2
    assert err.startswith("warning: folate=") and "ng/mL" in err


def test_csv_to_stdout_and_json(capsys, tmp_path, cli):
    src = tmp_path / "in.csv"
    table = write_patients(src, BAD_ROWS)
    status, out, err = cli("diagnose", "--csv", src, "--draws", "40", "--no-explain")
    assert status == 0, err
    from io import StringIO

    res = pd.read_csv(StringIO(out), dtype=str, keep_default_na=False)
    assert len(res) == len(table) and res["patient"].tolist() == table["patient"].tolist()
    assert "3 of 13 rows" in err
    status, out, err = cli("diagnose", "--csv", src, "--draws", "40", "--no-explain", "--json")
    assert status == 0, err
    recs = json.loads(out)
    assert [r["patient"] for r in recs] == table["patient"].tolist()
    assert [r["error"] != "" for r in recs] == [False] * 10 + [True] * 3


def test_out_is_not_overwritten_without_force(capsys, tmp_path, cli):
    src = tmp_path / "in.csv"
    write_patients(src)
    out = tmp_path / "out.csv"
    out.write_text("my precious results\n")
    line = assert_refused(*cli("diagnose", "--csv", src, "--out", out, "--draws", "40"), "exists", "--force")
    assert str(out) in line
    assert out.read_text() == "my precious results\n"
    # --force replaces it (atomically: no temp file left)
    status, _, err = cli("diagnose", "--csv", src, "--out", out, "--draws", "40", "--force")
    assert status == 0, err
    res = pd.read_csv(out)
    assert len(res) == 10 and "p_deficient" in res.columns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_out_may_create_a_folder_but_not_be_one(capsys, tmp_path, cli):
    src = tmp_path / "in.csv"
    write_patients(src)
    status, _, err = cli("diagnose", "--csv", src, "--out", tmp_path / "new" / "o.csv", "--draws", "40",
                          "--no-explain")
    assert status == 0, err
    assert len(pd.read_csv(tmp_path / "new" / "o.csv")) == 10
    assert_refused(*cli("diagnose", "--csv", src, "--out", tmp_path, "--force"), "--out", "folder")
    assert_refused(*cli("diagnose", "--csv", src, "--out", tmp_path / "j.csv", "--json"), "--json")
    assert not (tmp_path / "j.csv").exists()


@pytest.mark.parametrize("content, words", [
    (b"", ["--csv", "header row"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01garbage\x9c\x00", ["--csv", "UTF-8"]),
    (b"patient,b12,age\n", ["--csv", "no patient rows"]),
    (b"patient,b12,mma\nA,200,0.3\n", ["columns", "'age'"]),
    (b"patient,age,weight\nA,60,70\n", ["columns", "marker"]),
    (b"age,b12,serum_b12\n60,200,210\n", ["columns", "both mean b12"]),
    (b'age,b12\n60,200\n61,"200\n', ["--csv"]),
])
def test_unusable_csv(capsys, tmp_path, content, words, cli):
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    out = tmp_path / "out.csv"
    assert_refused(*cli("diagnose", "--csv", src, "--out", out), *words)
    assert not out.exists()


def test_csv_path_problems(capsys, tmp_path, cli):
    assert_refused(*cli("diagnose", "--csv", tmp_path / "nope.csv"), "--csv", "no such file")
    assert_refused(*cli("diagnose", "--csv", tmp_path), "--csv", "not a file")
    src = tmp_path / "in.csv"
    write_patients(src)
    assert_refused(*cli("diagnose", "--csv", src, "--b12", "200"), "--csv", "without per-patient options")


def test_semicolon_csv_and_byte_order_mark(capsys, tmp_path, cli):
    src = tmp_path / "in.csv"
    src.write_bytes("\ufeffpatient;B12 (pg/mL);age\nA;180;72\nB;250;50\n".encode("utf-8"))
    status, out, err = cli("diagnose", "--csv", src, "--draws", "40", "--json")
    assert status == 0, err
    recs = json.loads(out)
    assert [r["patient"] for r in recs] == ["A", "B"]  # BOM stripped from the first header
    assert all(r["error"] == "" and 0 <= r["p_deficient"] <= 1 for r in recs)


def test_csv_where_every_row_is_bad(capsys, tmp_path, cli):
    src = tmp_path / "in.csv"
    src.write_text("patient,b12,age\nA,abc,60\nB,200,\n")
    out = tmp_path / "out.csv"
    status, _, err = cli("diagnose", "--csv", src, "--out", out)
    assert status == 0, err
    res = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert res["patient"].tolist() == ["A", "B"] and (res["error"] != "").all()


def test_unexpected_errors_are_one_line(capsys, monkeypatch, cli):
    import b12sim.diagnosis as dg

    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(dg, "diagnose", boom)
    monkeypatch.delenv("B12SIM_DEBUG", raising=False)
    status, out, err = cli("diagnose", "--b12", "200", "--age", "60")
    assert status == 1
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: internal error")
    assert "simulated bug" in err and "Traceback" not in err
    monkeypatch.setenv("B12SIM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["diagnose", "--b12", "200", "--age", "60"])


@pytest.mark.parametrize("args, words", [
    (["--model", "markers", "--draws", "0"], ["--draws"]),
    (["--model", "markers", "--chains", "-1"], ["--chains"]),
    (["--model", "markers", "--seed", "-3"], ["--seed"]),
    (["--model", "all"], ["--out", "one --model"]),
    (["--model", "nope"], ["--model"]),
    (["--model", "markers", "--model", "treatment"], ["--model", "twice"]),
])
def test_calibrate_bad_options_refused_before_sampling(capsys, tmp_path, args, words, cli):
    assert_refused(*cli("calibrate", "--out", tmp_path / "p.nc", *args), *words)
    assert not (tmp_path / "p.nc").exists()


def test_calibrate_does_not_overwrite(capsys, tmp_path, cli):
    target = tmp_path / "p.nc"
    target.write_bytes(b"keep")
    for model in ("markers", "treatment"):
        assert_refused(*cli("calibrate", "--model", model, "--out", target), "exists", "--force")
    assert target.read_bytes() == b"keep"
