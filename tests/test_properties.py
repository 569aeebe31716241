"""Issue 18: generated bad values, units and tables thrown at the entry points.

Whatever is generated, an entry point either accepts it or refuses it with an
:class:`InputError` naming the field (the CLI: exit 2, one ``error:`` line, no traceback);
a refusal writes nothing, and no input file is ever changed. Examples are few and
derandomised, so the file is quick and gives the same examples on every run.
"""

import contextlib
import csv
import io
import math
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import b12sim
from b12sim import tables
from b12sim.cli import main
from b12sim.diagnosis.inputs import MARKERS
from b12sim.errors import InputError
from b12sim.policy.compare import OUTPUT_FILES
from b12sim.policy.population import CAUSES, check_cohort
from b12sim.studies.table import load

ROOT = Path(__file__).resolve().parents[1]
FEW = settings(max_examples=25, derandomize=True, deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(FEW, max_examples=8)  # each accepted example runs the command

UNITS = ("", " pmol/L", " pg/mL", " ng/mL", " umol/L", " nmol/L", " g/dL", " years", " mg", " %", " µmol/L",
         " furlongs", "pg/mL", " per litre")
NUMBER = st.one_of(st.integers(-10**7, 10**7), st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(0.001, 1e5))
ODD_TEXT = st.sampled_from(["", " ", "NA", "n/a", "<50", ">2000", "1,5", "1.5.2", "yes", "maybe", "1e400", "-0",
                            "0x10", "١٢٣", "180 pg/mL 3", "None", "nan", "inf", '"', "'", "\\", "\x00"])
TEXT_VALUE = st.one_of(st.builds(lambda n, u: f"{n}{u}", NUMBER, st.sampled_from(UNITS)), ODD_TEXT,
                       st.text(max_size=6))
API_VALUE = st.one_of(NUMBER, TEXT_VALUE, st.booleans(), st.none(), st.just([1.0]), st.just({"v": 1}))


def _cli(*args) -> tuple[int, str, str]:
    """The CLI in process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            status = main([str(a) for a in args])
        except SystemExit as e:
            status = e.code
    return status, out.getvalue(), err.getvalue()


def _refusal(status: int, err: str) -> None:
    """A CLI run either succeeded or was refused with exactly one clear error line; never a traceback."""
    event("accepted" if status == 0 else "refused")
    assert "Traceback" not in err and "internal error" not in err, err
    assert status in (0, 2), (status, err)
    if status == 2:
        errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
        assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err


def _clear(e: InputError, *fields: str) -> None:
    """An InputError whose message opens with the field it names (one of ``fields`` if given)."""
    event("refused")
    assert str(e).startswith(f"{e.field}: got ") and "; allowed: " in str(e), str(e)
    if fields:
        assert any(e.field.startswith(f) for f in fields), (e.field, fields)


@st.composite
def csv_bytes(draw, names, cells):
    """A CSV file as a user's tools might save it: columns from ``names`` (repeats, empty and
    odd-case names included), cells from ``cells``, any delimiter, blank and ragged rows, stray
    quotes, a trailing delimiter, other encodings."""
    cols = draw(st.lists(st.sampled_from(names), min_size=0, max_size=7))
    cols = [draw(st.sampled_from([c, c.upper(), c.title(), f" {c} "])) for c in cols]
    sep = draw(st.sampled_from([",", ";", "\t"]))
    rows = [cols]
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 5)) == 0:
            rows.append([])  # a blank row
            continue
        n = len(cols) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        rows.append([draw(cells) for _ in range(max(n, 0))])
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    text = buf.getvalue()
    if draw(st.integers(0, 6)) == 0:
        text = text.replace("\n", sep + "\n", 1)  # a trailing delimiter on the header
    if draw(st.integers(0, 8)) == 0 and text:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + '"' + text[at:]  # a stray quote
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


@st.composite
def mutated_csv(draw, header, rows, cells):
    """A good table (``header``, ``rows``) with up to three slips: a cell replaced by one of ``cells``,
    a renamed column, a blank row; any delimiter; sometimes another encoding."""
    header, rows = list(header), [list(r) for r in rows]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["cell", "cell", "header", "blank"]))
        if kind == "cell":
            rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, len(header) - 1))] = draw(cells)
        elif kind == "header":
            header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(["", "AGE", "b12", "Cause ", "x",
                                                                                 "b12 (pg/mL)", "b12 (mg)"]))
        else:
            rows.insert(draw(st.integers(0, len(rows))), [])
    buf = io.StringIO()
    csv.writer(buf, delimiter=draw(st.sampled_from([",", ";", "\t"]))).writerows([header, *rows])
    return buf.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1"])), errors="replace")


GOOD_COHORT = (["age", "cause", "b12", "vegan"], [["70", "dietary", "150", "yes"], ["82", "drug", "120 pg/mL", "no"]])
PATIENT_COLUMNS = ["age", "b12", "B12 (pg/mL)", "holotc", "mma (nmol/L)", "hcy", "folate", "egfr", "vegan",
                   "metformin", "b12_unit", "serum_b12", "patient", "", "p_deficient"]
PATIENT_CELL = st.one_of(st.sampled_from(["72", "60", "180", "250 pg/mL", "0.4", "12", "90", "no", "yes", "A",
                                          "pg/mL"]), TEXT_VALUE)
COHORT_COLUMNS = ["age", "cause", "b12", "b12 (pg/mL)", "mma", "vegan", "sex", "neuro_days", "oral_adherence",
                  "im_attendance", "stores_ug", "hb (g/dL)", "diet", "id", "", "b12_unit", "cause (x)"]
COHORT_CELL = st.one_of(st.sampled_from([*CAUSES, "70", "150", "0.3", "yes", "no", "female", "M", "30", "0.8",
                                         "vegan", "12"]), TEXT_VALUE)


def _folder_after(tmp: Path, src: Path, data: bytes) -> list[str]:
    """The input is unchanged; the names now in the folder."""
    assert src.read_bytes() == data
    return sorted(p.name for p in tmp.iterdir())


# --------------------------------------------------------------------------- values and units

@FEW
@given(field=st.sampled_from([*MARKERS, "age", "egfr", "vegan", "b12 (pg/mL)", "B12", "b21"]), value=API_VALUE)
def test_diagnose_values_are_scored_or_refused_naming_the_field(field, value):
    labs = {"b12": 200, "age": 60} | {field: value}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = b12sim.diagnose(draws=20, **labs)
        except InputError as e:
            _clear(e)
            return
    assert 0 <= res.p_deficient <= 1 and math.isfinite(res.p_deficient)


@FEW
@given(field=st.sampled_from(["b12", "mma", "folate", "hb", "age"]), value=TEXT_VALUE)
def test_cli_diagnose_and_simulate_refuse_bad_values_with_one_line(field, value):
    for command in (["diagnose", "--draws", "20"], ["simulate", "--regimen", "oral_1mg_daily", "--draws", "2",
                                                    "--horizon-days", "3"]):
        if field == "hb" and command[0] == "diagnose":
            continue
        args = {"b12": "200", "age": "60"} | {field: value}
        status, out, err = _cli(*command, *[x for k, v in args.items() for x in (f"--{k}", v)])
        _refusal(status, err)
        assert (status == 0) == bool(out)  # a refusal prints nothing to stdout


@FEW
@given(regimen=st.one_of(st.sampled_from(["oral_1mg_daily", "oral_1mg", "nope", "", "../x"]), st.text(max_size=8)),
       draws=st.one_of(st.integers(-3, 5), st.sampled_from([1.5, "2", None, True])),
       horizon=st.one_of(st.integers(-3, 6), st.sampled_from([2.0, "3", 10**9])),
       seed=st.one_of(st.integers(-2, 3), st.sampled_from([2**64, 1.5, "1", None])))
def test_simulate_api_refuses_bad_arguments_naming_them(regimen, draws, horizon, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = b12sim.simulate({"b12": 150, "age": 70}, regimen, draws=draws, horizon_days=horizon, seed=seed)
        except InputError as e:
            _clear(e)
            return
    assert ds.sizes["draw"] == draws and ds.sizes["day"] == horizon + 1


@SLOW
@given(plot=st.sampled_from(["f.png", "f.txt", "f", "sub/f.svg", "f.PNG", ".png"]), value=TEXT_VALUE)
def test_simulate_cli_writes_its_plot_only_on_success(plot, value):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        status, _, err = _cli("simulate", "--regimen", "oral_1mg_daily", "--b12", value, "--age", "60", "--draws",
                              "2", "--horizon-days", "3", "--plot", tmp / plot)
        _refusal(status, err)
        written = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        assert written == ([plot] if status == 0 else []), (status, err, written)


# --------------------------------------------------------------------------- tables

@FEW
@given(data=csv_bytes(PATIENT_COLUMNS, PATIENT_CELL))
def test_diagnose_csv_scores_or_refuses_and_never_touches_its_input(data):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src, out = tmp / "in.csv", tmp / "out.csv"
        src.write_bytes(data)
        status, _, err = _cli("diagnose", "--csv", src, "--out", out, "--draws", "20", "--no-explain")
        _refusal(status, err)
        assert _folder_after(tmp, src, data) == (["in.csv", "out.csv"] if status == 0 else ["in.csv"])
        if status == 0:
            scored = tables.read(out)
            assert len(scored) == len(tables.read(src))  # one output row per patient row
            p = scored["p_deficient"].replace("", "nan").astype(float)
            assert ((scored["error"] != "") == p.isna()).all() and p.dropna().between(0, 1).all()


@FEW
@given(data=st.one_of(csv_bytes(COHORT_COLUMNS, COHORT_CELL), mutated_csv(*GOOD_COHORT, COHORT_CELL)))
def test_cohort_files_are_checked_or_refused_naming_row_or_column(data):
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "c.csv"
        src.write_bytes(data)
        try:
            df = check_cohort(src)
        except InputError as e:
            _clear(e, "cohort")
            assert "c.csv" in str(e)
        else:
            event("accepted")
            assert df["cause"].isin(CAUSES).all() and df["age"].between(18, 110).all()
        assert src.read_bytes() == data


@SLOW
@given(data=mutated_csv(*GOOD_COHORT, COHORT_CELL))
def test_compare_cohort_writes_a_whole_result_set_or_nothing(data):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = tmp / "c.csv"
        src.write_bytes(data)
        status, _, err = _cli("compare", "--strategies", "no_treatment", "--cohort", src, "--draws", "2",
                              "--horizon-days", "5", "--out", tmp / "res", "--json")
        _refusal(status, err)
        assert _folder_after(tmp, src, data) == (["c.csv", "res"] if status == 0 else ["c.csv"])
        if status == 0:
            assert sorted(p.name for p in (tmp / "res").iterdir()) == sorted(OUTPUT_FILES)


@pytest.fixture(scope="module")
def study_rows():
    return tables.read(ROOT / "data" / "validation" / "studies.csv").head(3)


@FEW
@given(edits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 17), TEXT_VALUE), max_size=3),
       rename=st.one_of(st.none(), st.tuples(st.integers(0, 17), st.sampled_from(["", "ID", "id", "x", "Day "]))),
       sep=st.sampled_from([",", ";", "\t"]), blank=st.booleans())
def test_study_tables_load_or_are_refused_naming_file_row_and_field(study_rows, edits, rename, sep, blank):
    rows = study_rows.copy()
    for r, c, v in edits:
        rows.iloc[r, c] = v
    if rename:
        rows.columns = [rename[1] if k == rename[0] else c for k, c in enumerate(rows.columns)]
    text = rows.to_csv(index=False, sep=sep)
    if blank:
        text = text.replace("\n", "\n\n", 1)
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "s.csv"
        src.write_text(text, encoding="utf-8")
        data = src.read_bytes()
        try:
            res = load(src)
        except InputError as e:
            _clear(e, "s.csv", "studies")
        else:
            event("accepted")
            assert res["row"].tolist() == [k + 2 + blank for k in range(3)]
        assert src.read_bytes() == data
