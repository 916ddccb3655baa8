"""An import's errors grouped by problem: real problems first, unknown references last."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from sop import imports
from sop.choices import JobStatus, Role
from sop.extract_reader import NUMBER_FORMAT_HINT, read_extract
from sop.extracts import ENTITIES
from sop.import_problems import (
    DATA,
    FILE,
    REFERENCE,
    ProblemTally,
    error_groups,
    job_error_groups,
    problem_of,
)
from sop.models import ImportJob
from tests.sop.extract_files import run

pytestmark = pytest.mark.usefixtures("media")

HEADER = "sku,location_code,month,quantity,revenue\n"
# 100 rows of SKUs nobody imported (rows 2-101), then three real problems: a quantity that
# is no number (row 102), a month 13 (row 103), a key repeated (row 105 repeats row 104).
UNKNOWN = "".join(f"Z{i},WH1,2026-01,1,\n" for i in range(100))
REAL = "A1,WH1,2026-01,abc,\nA1,WH1,2026-13,5,\nB2,WH1,2026-02,1,\nB2,WH1,2026-02,2,\n"
BURIED = HEADER + UNKNOWN + REAL
DUPLICATE = "duplicate key (sku, location_code, month)"


def error(row, column, value, reason):
    return {"row": row, "column": column, "value": value, "reason": reason}


def summary(groups) -> list[tuple[str, str, str, int]]:
    return [(g.kind, g.column, g.problem, g.count) for g in groups]


# -- The grouping, on hand-made error lists ---------------------------------------------------


def test_the_same_problem_with_other_values_is_one_group():
    groups = error_groups(
        [
            error(4, "sku, month", "A / 2026-01", "duplicate key (sku, month): same as row 2"),
            error(7, "sku, month", "B / 2026-02", "duplicate key (sku, month): same as row 3"),
            error(5, "qty", "#N/A", "Excel error value #N/A"),
            error(6, "qty", "#REF!", "Excel error value #REF!"),
            error(8, "qty", "1.234", "ambiguous: 1.234 is 1.234 with a decimal point, or 1234 "
                  "with a point between thousands; say which the file uses"),
            error(9, "qty", "2.500", "ambiguous: 2.500 is 2.5 with a decimal point, or 2500 "
                  "with a point between thousands; say which the file uses"),
            error(10, "qty", "1,5", "ambiguous: 1,500 is 1.5 with a decimal comma, or 1500 "
                  "with a comma between thousands; say which the file uses"),
        ]
    )  # fmt: skip
    assert summary(groups) == [
        (DATA, "sku, month", "duplicate key (sku, month)", 2),
        (DATA, "qty", "an Excel error value (#N/A, #REF! ...) instead of a value", 2),
        (DATA, "qty", "ambiguous: a decimal point or a point between thousands; say which "
         "the file uses", 2),
        (DATA, "qty", "ambiguous: a decimal comma or a comma between thousands; say which "
         "the file uses", 1),
    ]  # fmt: skip
    # The rows keep what each said: which row the duplicate repeats.
    assert [e["reason"][-8:] for e in groups[0].first] == ["as row 2", "as row 3"]


def test_the_same_reason_in_two_columns_is_two_problems():
    groups = error_groups(
        [error(2, "quantity", "x", "not a number"), error(2, "revenue", "y", "not a number")]
    )
    assert [(g.column, g.count) for g in groups] == [("quantity", 1), ("revenue", 1)]


def test_wrong_values_come_before_unknown_references_and_the_file_before_both():
    found = [error(r, "sku", f"Z{r}", "unknown SKU") for r in range(2, 102)]
    found += [error(r, "location_code", "XX", "unknown location") for r in (3, 4)]
    found += [
        error(40, "quantity", "abc", "not a number"),
        error(60, "month", "2026-13", "not a month (use YYYY-MM, YYYY-MM-DD or an Excel date)"),
        error(61, "month", "2026-14", "not a month (use YYYY-MM, YYYY-MM-DD or an Excel date)"),
        error(0, "", "", NUMBER_FORMAT_HINT),
    ]
    groups = error_groups(sorted(found, key=lambda e: e["row"]))
    assert summary(groups) == [
        (FILE, "", NUMBER_FORMAT_HINT, 1),
        # Within a kind, the most frequent first; a tie goes to the one met first.
        (DATA, "month", "not a month (use YYYY-MM, YYYY-MM-DD or an Excel date)", 2),
        (DATA, "quantity", "not a number", 1),
        (REFERENCE, "sku", "unknown SKU", 100),
        (REFERENCE, "location_code", "unknown location", 2),
    ]
    assert [e["row"] for e in groups[3].first] == [2, 3, 4, 5, 6]
    assert groups[3].hint == (
        "Usually the master data is not imported yet: import the products first (or correct "
        "the SKU codes), then this file again."
    )
    assert "import the locations first" in groups[4].hint
    assert groups[1].hint == groups[2].hint == ""


def test_a_family_or_a_resource_unknown_is_a_reference_too():
    assert problem_of("family", "unknown product family") == ("unknown product family", REFERENCE)
    assert problem_of("resource_code", "unknown resource") == ("unknown resource", REFERENCE)
    # A SKU that is too long is a wrong value, not a missing reference.
    assert problem_of("sku", "too long (61 characters, at most 40)") == (
        "too long (at most 40 characters)",
        DATA,
    )


def test_chunks_add_up_and_a_file_hint_said_again_counts_once():
    tally = ProblemTally()
    tally.add([error(0, "", "", NUMBER_FORMAT_HINT), error(2, "sku", "Z", "unknown SKU")])
    tally.add([error(0, "", "", NUMBER_FORMAT_HINT)] + [error(r, "sku", "Z", "unknown SKU")
                                                       for r in range(3, 10)])  # fmt: skip
    assert summary(tally.groups()) == [
        (FILE, "", NUMBER_FORMAT_HINT, 1),
        (REFERENCE, "sku", "unknown SKU", 8),
    ]


def test_a_group_made_from_the_first_errors_only_counts_at_least():
    groups = error_groups([error(2, "sku", "Z", "unknown SKU")], complete=False)
    assert groups[0].at_least and groups[0].count == 1


def test_the_readers_own_reasons_group_as_named(refs):
    """The patterns follow the reader's wording: read a file with each kind of problem."""
    content = (
        "sku,location_code,month,quantity,revenue\n"
        "A1,WH1,2026-01,1.234,\n"  # 2: ambiguous thousands
        "A1,WH1,2026-02,2.500,\n"  # 3: ambiguous thousands
        "A1,WH1,2026-03,#N/A,\n"  # 4: Excel error value
        "A1,WH1,03/04/2026,1,\n"  # 5: a date either way
        "A1,WH1,2026-05,99999999999999,\n"  # 6: too large
        "A1,WH1,2026-06,99999999999.9999,\n"  # 7: too large once rounded to 3 decimals
        "B2,WH1,2026-06,1,\n"
        "B2,WH1,2026-06,1,\n"  # 9: duplicate of 8
        "B2,WH1,2026-06,1,\n"  # 10: duplicate of 8
    )
    entity = ENTITIES["sales_history"]
    extract = read_extract(
        content.encode(), entity=entity, refs=imports.import_refs(entity=entity), max_bytes=1 << 20
    )
    groups = error_groups(extract.errors)
    assert extract.errors.loc[7, "reason"].startswith("too large: rounded to 3 decimals it is")
    assert [(g.column, g.problem, [e["row"] for e in g.first]) for g in groups] == [
        ("", NUMBER_FORMAT_HINT, [0]),
        ("", extract.errors.loc[1, "reason"], [0]),  # the date hint
        ("quantity", "ambiguous: a decimal point or a point between thousands; say which the "
         "file uses", [2, 3]),
        ("quantity", "too large (at most 11 digits before the decimal point)", [6, 7]),
        ("sku, location_code, month", DUPLICATE, [9, 10]),
        ("quantity", "an Excel error value (#N/A, #REF! ...) instead of a value", [4]),
        ("month", "ambiguous month: day and month can be read either way; state the file's "
         "month format", [5]),
    ]  # fmt: skip


# -- The import's report: true counts past the error cap, the download ------------------------


def test_the_import_counts_every_problem_past_the_error_cap(tmp_path, refs, settings):
    settings.SOP_IMPORT_ERRORS_KEPT = 3
    settings.SOP_IMPORT_CHUNK_BYTES = 256  # about 15 rows a chunk: the file is 8 chunks
    job = run(tmp_path, "sales_history", BURIED)
    assert job.status == JobStatus.FAILED
    assert job.error_count == 103
    assert [e["row"] for e in job.errors] == [2, 3, 4]  # only the first 3 kept
    groups = job_error_groups(job)
    assert [(g.column, g.problem, g.count, g.listed) for g in groups] == [
        ("quantity", "not a number", 1, 1),
        ("month", "not a month (use YYYY-MM, YYYY-MM-DD or an Excel date)", 1, 1),
        ("sku, location_code, month", DUPLICATE, 1, 1),
        # Rows 2-4 kept, and its first five rows 2-6 in the download.
        ("sku", "unknown SKU", 100, 5),
    ]
    assert not any(g.at_least for g in groups)
    assert [e["row"] for e in groups[2].first] == [105]
    assert groups[2].first[0]["reason"] == f"{DUPLICATE}: same as row 104"
    rows = list(csv.reader(io.StringIO(job.errors_csv)))
    assert rows[0] == ["row", "column", "value", "reason", "problem"]
    assert [int(r[0]) for r in rows[1:]] == [2, 3, 4, 5, 6, 102, 103, 105]


def test_without_the_cap_the_download_holds_every_error_with_its_problem(tmp_path, refs):
    job = run(tmp_path, "sales_history", BURIED)
    rows = list(csv.DictReader(io.StringIO(job.errors_csv)))
    assert len(rows) == job.error_count == 103
    assert rows[-1] == {
        "row": "105",
        "column": "sku, location_code, month",
        "value": "B2 / WH1 / 2026-02",
        "reason": f"{DUPLICATE}: same as row 104",
        "problem": DUPLICATE,
    }
    assert [g.listed for g in job_error_groups(job)] == [1, 1, 1, 100]


# -- The pages --------------------------------------------------------------------------------


def test_the_job_page_shows_the_real_problems_before_the_unknown_skus(tmp_path, refs, client_for):
    job = run(tmp_path, "sales_history", BURIED)
    page = client_for(Role.ADMIN).get(f"/imports/{job.pk}/").content.decode()
    assert "103 errors, 4 problems: wrong values first" in page
    order = [
        page.index("<code>quantity</code> · Not a number"),
        page.index("<code>month</code> · Not a month"),
        page.index("· Duplicate key (sku, location_code, month)"),
        page.index("<code>sku</code> · Unknown SKU"),
    ]
    assert order == sorted(order)
    assert "100 rows</span>" in page
    assert "The first 5 of 100." in page
    assert f'href="/imports/{job.pk}/errors.csv?problem=4">Download all 100 (CSV)' in page
    assert "import the products first" in page
    assert f'<a href="/imports/{job.pk}/errors.csv">Download all 103 (CSV)</a>' in page


def test_one_problems_download_holds_its_rows_only(tmp_path, refs, client_for):
    job = run(tmp_path, "sales_history", BURIED)
    admin = client_for(Role.ADMIN)
    response = admin.get(f"/imports/{job.pk}/errors.csv?problem=4")
    assert "extract-" in response["Content-Disposition"]
    assert "-problem-4-errors.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "value", "reason", "problem"]
    assert len(rows) == 101 and {r[4] for r in rows[1:]} == {"unknown SKU"}
    duplicate = admin.get(f"/imports/{job.pk}/errors.csv?problem=3").content.decode("utf-8-sig")
    assert duplicate.splitlines()[1:] == [
        f'105,"sku, location_code, month",B2 / WH1 / 2026-02,"{DUPLICATE}: same as row 104",'
        f'"{DUPLICATE}"'
    ]
    for wrong in ("0", "5", "x"):
        assert admin.get(f"/imports/{job.pk}/errors.csv?problem={wrong}").status_code == 404


def test_a_job_refused_before_problems_were_counted_is_grouped_from_its_errors(
    tmp_path, refs, client_for
):
    job = run(tmp_path, "sales_history", BURIED)
    # As a job refused before this report kept them: its first errors and the old CSV.
    first = job.errors[:3]
    ImportJob.objects.filter(pk=job.pk).update(
        error_groups=[], errors=first, errors_csv="row,column,value,reason\n2,sku,Z0,unknown SKU\n"
    )
    job.refresh_from_db()
    groups = job_error_groups(job)
    assert [(g.problem, g.count, g.at_least) for g in groups] == [("unknown SKU", 3, True)]
    admin = client_for(Role.ADMIN)
    assert "at least 3 rows" in admin.get(f"/imports/{job.pk}/").content.decode()
    old = admin.get(f"/imports/{job.pk}/errors.csv?problem=1").content.decode("utf-8-sig")
    assert old.splitlines() == [
        "row,column,value,reason,problem",
        "2,sku,Z0,unknown SKU,unknown SKU",
    ]


def test_the_preview_groups_the_errors_of_its_rows(client_for, refs, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = HEADER + "".join(f"Z{i},WH1,2026-01,1,\n" for i in range(12)) + "A1,WH1,2026-01,x,\n"
    admin = client_for(Role.ADMIN)
    response = admin.post(
        "/imports/",
        {"entity": "sales_history", "file": SimpleUploadedFile("s.csv", content.encode())},
    )
    page = admin.get(response["Location"]).content.decode()
    assert page.index("· Not a number") < page.index("· Unknown SKU")
    assert "12 rows</span>" in page and "The first 5 of 12." in page
    assert "errors.csv" not in page  # nothing to download before the import


# -- The command ------------------------------------------------------------------------------


def test_the_command_prints_the_problems_real_ones_first(tmp_path, refs, capsys):
    path = tmp_path / "sales.csv"
    path.write_text(BURIED)
    with pytest.raises(SystemExit):
        call_command("import_extract", "sales_history", str(path))
    err = capsys.readouterr().err
    assert "sales.csv (sales_history): 103 errors found; nothing was loaded." in err
    said = err.split("4 problems, wrong values first:\n", 1)[1]
    assert said.startswith(
        "  quantity: not a number (1 row)\n"
        "    row 102: 'abc'\n"
        "  month: not a month (use YYYY-MM, YYYY-MM-DD or an Excel date) (1 row)\n"
        "    row 103: '2026-13'\n"
        f"  sku, location_code, month: {DUPLICATE} (1 row)\n"
        f"    row 105: 'B2 / WH1 / 2026-02' ({DUPLICATE}: same as row 104)\n"
        "  sku: unknown SKU (100 rows)\n"
        "    row 2: 'Z0'\n"
    )
    assert said.endswith(
        "    row 6: 'Z4'\n"
        "    ... and 95 more\n"
        "    Usually the master data is not imported yet: import the products first (or "
        "correct the SKU codes), then this file again.\n"
    )


def test_a_dry_run_prints_the_same_problems(tmp_path, refs, capsys):
    path = tmp_path / "sales.csv"
    path.write_text(BURIED)
    with pytest.raises(SystemExit):
        call_command("import_extract", "sales_history", str(path), "--dry-run")
    err = capsys.readouterr().err
    assert "Dry run: 103 errors found" in err
    assert "4 problems, wrong values first:\n  quantity: not a number (1 row)\n" in err
    assert "  sku: unknown SKU (100 rows)\n" in err


# -- The API ----------------------------------------------------------------------------------


def test_the_api_gives_the_groups_beside_the_errors(tmp_path, refs, api_for):
    job = run(tmp_path, "sales_history", BURIED)
    body = api_for(Role.ADMIN).get(f"/api/v1/imports/{job.pk}").json()
    assert len(body["errors"]) == 103 and body["errors"][0]["field"] == "sku"
    assert [(g["field"], g["kind"], g["count"]) for g in body["error_groups"]] == [
        ("quantity", "data", 1),
        ("month", "data", 1),
        ("sku, location_code, month", "data", 1),
        ("sku", "reference", 100),
    ]
    unknown = body["error_groups"][3]
    assert unknown["at_least"] is False and "import the products first" in unknown["hint"]
    assert [r["row"] for r in unknown["rows"]] == [2, 3, 4, 5, 6]
    assert unknown["rows"][0] == {
        "row": 2, "field": "sku", "value": "Z0", "reason": "unknown SKU"
    }  # fmt: skip


def test_a_refused_push_groups_its_errors_by_pushed_row(refs, api_for, media):
    rows = [{"sku": f"Z{i}", "location_code": "WH1", "month": "2026-01", "quantity": 1}
            for i in range(6)]  # fmt: skip
    rows.append({"sku": "A1", "location_code": "WH1", "month": "2026-01", "quantity": "abc"})
    response = api_for(Role.ADMIN).post(
        "/api/v1/data/sales_history", {"rows": rows}, content_type="application/json"
    )
    assert response.status_code == 422
    body = response.json()
    assert [(g["problem"], g["count"]) for g in body["error_groups"]] == [
        ("not a number", 1),
        ("unknown SKU", 6),
    ]
    assert [r["row"] for r in body["error_groups"][0]["rows"]] == [7]  # the 7th pushed row
    assert [r["row"] for r in body["error_groups"][1]["rows"]] == [1, 2, 3, 4, 5]
