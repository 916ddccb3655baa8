"""Import profiles: saved by admins, chosen at upload or by file name, previewed before
anything is written, and used by `import_extract --profile` and `--dry-run`."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from sop import import_profiles, imports
from sop.choices import JobStatus, Role
from sop.extract_reader import ReadOptions
from sop.import_profiles import import_reading
from sop.locking import EditConflict
from sop.models import (
    AuditEvent,
    ImportJob,
    ImportProfile,
    ImportUpload,
    SalesHistory,
    ScheduledReceipt,
)
from tests.factories import LocationFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SAP_HEADER = "Material;Plant;Period;Billed Qty;Net Value;Currency\n"
SAP_ROWS = "A1;WH1;03.2026;3.900;1.234,50;EUR\nB2;WH1;03.2026;12-;;EUR\n"
SAP_OPTIONS = ReadOptions.with_number_format(
    "1.234,5",
    trailing_minus=True,
    month_format="mm.yyyy",
    columns={
        "Material": "sku",
        "Plant": "location_code",
        "Period": "month",
        "Billed Qty": "quantity",
        "Net Value": "revenue",
    },
    ignored=("Currency",),
)


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def sap(admin):
    return import_profiles.import_profile_create(
        user=admin,
        name="SAP billing",
        source="SAP ECC",
        entity="sales_history",
        file_name_pattern="VBRK_*.csv",
        options=SAP_OPTIONS,
    )


# -- Saving profiles -------------------------------------------------------------------------


def test_creating_a_profile_stores_its_options_and_is_audited(sap, admin):
    assert ReadOptions.from_profile(sap) == SAP_OPTIONS
    event = AuditEvent.objects.get(action="import_profile.create")
    assert (event.user, event.object_id) == (admin, str(sap.pk))
    assert event.new["options"]["columns"]["Material"] == "sku"
    assert (sap.created_by, sap.updated_by, sap.version) == (admin, admin, 1)


def test_editing_a_profile_bumps_its_version_and_audits_old_and_new(sap, admin):
    changed = import_profiles.import_profile_update(
        profile=sap,
        version=1,
        user=admin,
        name="SAP billing DE",
        entity="sales_history",
        options=ReadOptions(),
        file_name_pattern="VBRK_DE_*.csv",
    )
    assert (changed.version, changed.name) == (2, "SAP billing DE")
    event = AuditEvent.objects.get(action="import_profile.update")
    assert event.old["name"] == "SAP billing" and event.new["name"] == "SAP billing DE"
    assert event.old["options"]["decimal_separator"] == ","
    assert event.new["options"]["decimal_separator"] == ""


def test_an_edit_from_a_stale_version_is_refused(sap, admin):
    edit = {"user": admin, "name": "SAP", "entity": "sales_history", "options": ReadOptions()}
    import_profiles.import_profile_update(profile=sap, version=1, **edit)
    with pytest.raises(EditConflict, match=r"was changed .* while you were editing"):
        import_profiles.import_profile_update(profile=sap, version=1, **edit)
    with pytest.raises(EditConflict):
        import_profiles.import_profile_delete(profile=sap, version=1, user=admin)
    assert ImportProfile.objects.get().name == "SAP"


def test_deleting_a_profile_keeps_what_its_imports_recorded(tmp_path, refs, sap, admin):
    path = tmp_path / "VBRK_2026_03.csv"
    path.write_text(SAP_HEADER + SAP_ROWS.replace("12-", "12"))
    reading = import_reading(entity="sales_history", file_name=path.name)
    job = imports.import_file(entity="sales_history", path=path, user=admin, reading=reading)
    assert (job.profile, job.profile_name, job.matched_pattern) == (
        sap,
        "SAP billing",
        "VBRK_*.csv",
    )
    import_profiles.import_profile_delete(profile=sap, version=1, user=admin)
    job.refresh_from_db()
    assert (job.profile, job.profile_name) == (None, "SAP billing")
    assert ReadOptions.from_dict(job.options) == SAP_OPTIONS
    assert AuditEvent.objects.get(action="import_profile.delete").old["name"] == "SAP billing"


def test_a_second_profile_of_the_same_name_is_refused(sap, admin):
    with pytest.raises(ValidationError) as refused:
        import_profiles.import_profile_create(
            user=admin, name="SAP billing", entity="inventory", options=ReadOptions()
        )
    assert refused.value.message_dict == {"name": ["A profile named SAP billing already exists."]}


def test_options_the_entity_contradicts_are_refused(admin):
    with pytest.raises(ValidationError) as refused:
        import_profiles.import_profile_create(
            user=admin,
            name="Odoo stock",
            entity="inventory",
            options=ReadOptions(columns={"Quantity On Hand": "quantity"}),
        )
    assert refused.value.message_dict == {
        "__all__": [
            "The mapping of 'Quantity On Hand' names 'quantity', which is not a inventory "
            "column (sku, location_code, date, on_hand)."
        ]
    }
    assert not ImportProfile.objects.exists()


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER])
def test_only_an_admin_may_save_a_profile(make_user, role):
    with pytest.raises(PermissionDenied, match="Only Admin can create import profiles"):
        import_profiles.import_profile_create(
            user=make_user(role), name="x", entity="inventory", options=ReadOptions()
        )


# -- Which profile reads a file --------------------------------------------------------------


def test_a_file_is_read_with_the_profile_its_name_fits(sap):
    reading = import_reading(entity="sales_history", file_name="vbrk_2026_03.CSV")
    assert (reading.profile, reading.matched_pattern) == (sap, "VBRK_*.csv")
    assert reading.described() == (
        "the import profile SAP billing (its file-name pattern VBRK_*.csv fits the file)"
    )
    other = import_reading(entity="sales_history", file_name="sales.csv")
    assert (other.profile, other.options) == (None, ReadOptions())
    assert other.described() == "no import profile: the documented format"


def test_a_pattern_matches_only_its_own_entity(sap):
    assert import_reading(entity="inventory", file_name="VBRK_1.csv").profile is None


def test_a_file_two_patterns_fit_is_refused_naming_both(sap, admin):
    import_profiles.import_profile_create(
        user=admin,
        name="SAP billing 2",
        entity="sales_history",
        file_name_pattern="*_2026_*.csv",
        options=ReadOptions(),
    )
    with pytest.raises(ValidationError) as refused:
        import_reading(entity="sales_history", file_name="VBRK_2026_03.csv")
    assert refused.value.messages == [
        "The file name VBRK_2026_03.csv fits the patterns of several profiles: SAP billing "
        "(VBRK_*.csv), SAP billing 2 (*_2026_*.csv). Choose the profile, or make the patterns "
        "narrower."
    ]


def test_a_profile_named_wins_over_matching_and_must_read_the_entity(sap):
    assert import_reading(entity="sales_history", file_name="x.csv", profile=sap).profile == sap
    with pytest.raises(ValidationError, match="reads sales_history, not inventory"):
        import_reading(entity="inventory", file_name="x.csv", profile=sap)
    with pytest.raises(ValidationError, match="leave the other read options empty"):
        import_reading(
            entity="sales_history",
            file_name="x.csv",
            profile=sap,
            options=ReadOptions(sheet="Sales"),
        )


def test_options_stated_by_hand_or_no_profile_skip_the_match(sap):
    stated = import_reading(
        entity="sales_history", file_name="VBRK_1.csv", options=ReadOptions(sheet="Sales")
    )
    assert (stated.profile, stated.options.sheet) == (None, "Sales")
    assert stated.described() == "the options stated at upload"
    bare = import_reading(entity="sales_history", file_name="VBRK_1.csv", match=False)
    assert bare.profile is None


# -- Upload, preview, confirm ------------------------------------------------------------------


def upload_file(client, name: str, content: str | bytes, **fields):
    content = content.encode() if isinstance(content, str) else content
    return client.post(
        "/imports/",
        {"entity": "sales_history", "file": SimpleUploadedFile(name, content), **fields},
    )


def preview_cells(page: str) -> list[list[str]]:
    """The preview table's body, cell by cell, as text."""
    table = page.split('<table class="grid preview">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_preview_shows_the_rows_typed_and_mapped_and_writes_nothing(client_for, refs, sap):
    admin = client_for(Role.ADMIN)
    response = upload_file(admin, "VBRK_2026_03.csv", SAP_HEADER + SAP_ROWS)
    upload = ImportUpload.objects.get()
    assert response["Location"] == f"/imports/uploads/{upload.pk}/"
    page = admin.get(response["Location"]).content.decode()
    assert "The import profile SAP billing (its file-name pattern VBRK_*.csv fits the file)" in page
    assert (
        "<th>sku</th><th>location_code</th><th>month</th><th>quantity</th><th>revenue</th>" in page
    )
    # 3.900 is 3,900 in a 1.234,5 file; 12- is -12, which a shipped quantity cannot be.
    assert preview_cells(page) == [
        ["2", "A1", "WH1", "2026-03-01", "3,900", "1,234.5"],
        ["3", "B2", "WH1", "2026-03-01", "12-", "—"],
    ]
    assert 'class="error" title="negative quantity: must be 0 or more">12-' in page
    assert "Confirm and import" in page
    assert not ImportJob.objects.exists()
    assert not SalesHistory.objects.exists()


def test_confirming_queues_the_import_with_the_profile(
    client_for, refs, sap, django_capture_on_commit_callbacks
):
    admin = client_for(Role.ADMIN)
    location = upload_file(admin, "VBRK_2026_03.csv", SAP_HEADER + SAP_ROWS.replace("12-", "12"))[
        "Location"
    ]
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = admin.post(location + "confirm/")
    job = ImportJob.objects.get()
    assert confirmed["Location"] == f"/imports/{job.pk}/"
    assert (job.status, job.profile, job.profile_name) == (JobStatus.SUCCEEDED, sap, "SAP billing")
    assert AuditEvent.objects.get(action="import.load").new["profile"] == "SAP billing"
    assert sorted(SalesHistory.objects.values_list("product__sku", "quantity", "revenue")) == [
        ("A1", Decimal("3900"), Decimal("1234.5")),
        ("B2", Decimal("12"), None),
    ]
    page = admin.get(confirmed["Location"]).content.decode()
    assert "Read with</dt><dd>The import profile SAP billing" in page
    listing = admin.get("/imports/").content.decode().split('id="import-jobs"', 1)[1]
    assert "VBRK_2026_03.csv</a></td>\n        <td>SAP billing</td>" in listing
    assert "numbers written 1.234,5" in page
    # A second click on Confirm finds the job, not a second import.
    assert admin.post(location + "confirm/")["Location"] == f"/imports/{job.pk}/"
    assert admin.get(location)["Location"] == f"/imports/{job.pk}/"
    assert ImportJob.objects.count() == 1


def test_cancelling_deletes_the_upload_and_its_file(
    client_for, refs, settings, django_capture_on_commit_callbacks
):
    admin = client_for(Role.ADMIN)
    location = upload_file(admin, "sales.csv", "sku,location_code,month,quantity\n")["Location"]
    stored = Path(settings.MEDIA_ROOT) / ImportUpload.objects.get().file_path
    assert stored.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(location + "cancel/", follow=True)
    assert "sales.csv was not imported; its upload is deleted." in response.content.decode()
    assert not ImportUpload.objects.exists() and not stored.parent.exists()
    assert not ImportJob.objects.exists()
    assert admin.get(location).status_code == 404


def test_a_refused_file_shows_why_and_cannot_be_confirmed(client_for, refs):
    admin = client_for(Role.ADMIN)
    content = "Billing report\n\nsku,location_code,month,quantity\nA1,WH1,2026-01,1\n"
    page = admin.get(upload_file(admin, "report.csv", content)["Location"]).content.decode()
    assert "This file cannot be read as sales_history" in page
    assert "a header seems to be on row 3: state header row 3 in an import profile" in page
    assert '<button type="submit" class="primary" disabled>Confirm and import</button>' in page


def test_the_preview_lists_the_errors_of_its_rows_and_the_file_hint(client_for, refs):
    admin = client_for(Role.ADMIN)
    content = "sku,location_code,month,quantity\nA1,WH1,03/04/2026,1\nZ9,WH1,2026-01,2\n"
    page = admin.get(upload_file(admin, "s.csv", content)["Location"]).content.decode()
    assert "the day and month order is never guessed" not in page  # hint wording is its own
    assert "a day and month order is never guessed" in page
    assert "ambiguous: 03/04/2026 is 2026-04 (dd/mm/yyyy) or 2026-03 (mm/dd/yyyy)" in page
    assert "unknown SKU" in page
    assert "Confirming a file with errors loads nothing" in page


def test_the_preview_says_which_sheet_it_read_and_what_the_file_lacks(client_for, refs):
    book = openpyxl.Workbook()
    book.active.title = "Billing"
    book.active.append(["sku", "location_code", "month", "quantity"])
    book.active.append(["A1", "WH1", dt.date(2026, 3, 1), 2.5])
    buffer = io.BytesIO()
    book.save(buffer)
    admin = client_for(Role.ADMIN)
    page = admin.get(upload_file(admin, "s.xlsx", buffer.getvalue())["Location"]).content.decode()
    assert "<dt>Sheet</dt><dd>Billing</dd>" in page
    assert "Not in the file: <code>revenue</code>" in page
    assert preview_cells(page) == [["2", "A1", "WH1", "2026-03-01", "2.5"]]


def test_an_upload_names_its_profile_and_the_form_refuses_a_mismatch(client_for, refs, sap):
    admin = client_for(Role.ADMIN)
    response = upload_file(
        admin, "sales.csv", SAP_HEADER + SAP_ROWS, profile=str(sap.pk), entity="inventory"
    )
    assert (
        "The profile SAP billing reads sales_history, not inventory." in response.content.decode()
    )
    named = upload_file(admin, "sales.csv", SAP_HEADER + SAP_ROWS, profile=str(sap.pk))
    assert ImportUpload.objects.get().profile == sap
    assert "The import profile SAP billing<" in admin.get(named["Location"]).content.decode()


def test_a_profile_and_options_by_hand_at_upload_are_refused(client_for, sap):
    response = upload_file(
        client_for(Role.ADMIN), "VBRK_1.csv", SAP_HEADER, number_format="1,234.5"
    )
    assert response.status_code == 302
    assert ImportUpload.objects.get().profile is None  # stated options skip the match
    response = upload_file(
        client_for(Role.ADMIN), "x.csv", SAP_HEADER, number_format="1,234.5", profile=str(sap.pk)
    )
    assert "says how to read the file: leave the other read options empty" in (
        response.content.decode()
    )


def test_uploads_left_a_day_are_deleted_with_their_files(client_for, settings):
    admin = client_for(Role.ADMIN)
    upload_file(admin, "old.csv", "sku,location_code,month,quantity\n")
    old = ImportUpload.objects.get()
    ImportUpload.objects.filter(pk=old.pk).update(
        created_at=old.created_at - imports.UPLOAD_KEPT - dt.timedelta(minutes=1)
    )
    stored = Path(settings.MEDIA_ROOT) / old.file_path
    upload_file(admin, "new.csv", "sku,location_code,month,quantity\n")
    assert list(ImportUpload.objects.values_list("file_name", flat=True)) == ["new.csv"]
    # The file goes once the deletion is committed (the test's transaction never is).
    assert stored.is_file()


# -- The profile pages ----------------------------------------------------------------------


PROFILE_FORM = {
    "name": "Odoo stock",
    "source": "Odoo 17",
    "entity": "inventory",
    "file_name_pattern": "stock.quant*.csv",
    "encoding": "",
    "separator": "",
    "number_format": "",
    "date_format": "",
    "month_format": "",
    "with_time": "on",
    "header_row": "1",
    "first_column": "a",
    "columns": "Product/Internal Reference = sku\nLocation = location_code\n"
    "Inventory Date = date\nQuantity = on_hand",
    "ignored": "Product\nUnit of Measure",
    "constants": "",
    "factors": "",
}


def test_an_admin_creates_a_profile_from_the_form(client_for):
    admin = client_for(Role.ADMIN)
    assert admin.get("/imports/profiles/new/").status_code == 200
    response = admin.post("/imports/profiles/new/", PROFILE_FORM, follow=True)
    page = response.content.decode()
    assert "The import profile Odoo stock is saved." in page
    profile = ImportProfile.objects.get()
    assert ReadOptions.from_profile(profile) == ReadOptions(
        with_time=True,
        columns={
            "Product/Internal Reference": "sku",
            "Location": "location_code",
            "Inventory Date": "date",
            "Quantity": "on_hand",
        },
        ignored=("Product", "Unit of Measure"),
    )
    assert "Product/Internal Reference read as sku" in page
    assert "<code>stock.quant*.csv</code>" in page


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("columns", "Material sku", "Line 1 (Material sku) is not “name = value”."),
        ("columns", "A = sku\na = location_code", "Line 2 names a again (line 1 did)."),
        ("factors", "quantity = zero", "The factor of quantity is &#x27;zero&#x27;: a number"),
        ("columns", "Material = article", "The mapping of &#x27;Material&#x27; names"),
        ("first_column", "B2", "First column &#x27;B2&#x27;: a column letter, A to XFD."),
    ],
)  # fmt: skip
def test_the_profile_form_says_what_is_wrong(client_for, field, value, error):
    response = client_for(Role.ADMIN).post("/imports/profiles/new/", {**PROFILE_FORM, field: value})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not ImportProfile.objects.exists()


def test_an_admin_edits_a_profile_seen_at_its_version(client_for, sap):
    admin = client_for(Role.ADMIN)
    page = admin.get(f"/imports/profiles/{sap.pk}/").content.decode()
    assert "Material = sku" in page and 'name="version" value="1"' in page
    edited = {**PROFILE_FORM, "name": "SAP billing", "version": "1"}
    assert admin.post(f"/imports/profiles/{sap.pk}/", edited).status_code == 302
    assert ImportProfile.objects.get().version == 2
    stale = admin.post(f"/imports/profiles/{sap.pk}/", {**edited, "name": "Other"})
    assert stale.status_code == 409
    assert "was changed" in stale.content.decode()
    assert ImportProfile.objects.get().name == "SAP billing"


def test_an_admin_deletes_a_profile(client_for, sap):
    admin = client_for(Role.ADMIN)
    stale = admin.post(f"/imports/profiles/{sap.pk}/delete/", {"version": "7"})
    assert stale.status_code == 409
    response = admin.post(f"/imports/profiles/{sap.pk}/delete/", {"version": "1"}, follow=True)
    assert "The import profile SAP billing is deleted." in response.content.decode()
    assert not ImportProfile.objects.exists()


def test_the_profile_list_shows_what_each_states_and_its_imports(client_for, tmp_path, refs, sap):
    path = tmp_path / "VBRK_1.csv"
    path.write_text(SAP_HEADER + SAP_ROWS.replace("12-", "12"))
    imports.import_file(
        entity="sales_history",
        path=path,
        reading=import_reading(entity="sales_history", file_name=path.name),
    )
    page = client_for(Role.ADMIN).get("/imports/profiles/").content.decode()
    row = page.split('id="import-profiles"', 1)[1].split("</tr>", 2)[1]
    assert "SAP billing" in row and "SAP ECC" in row and "<code>VBRK_*.csv</code>" in row
    assert "numbers written 1.234,5; negatives with a trailing minus" in row
    assert '<td class="num">1</td>' in row


# -- The command line ----------------------------------------------------------------------


def test_the_command_reads_with_a_named_profile(tmp_path, refs, sap, capsys):
    path = tmp_path / "billing.csv"
    path.write_text(SAP_HEADER + SAP_ROWS.replace("12-", "12"))
    call_command("import_extract", "sales_history", str(path), "--profile", "SAP billing")
    out = capsys.readouterr().out
    assert "billing.csv (sales_history) read with the import profile SAP billing." in out
    assert "2 inserted" in out
    assert ImportJob.objects.get().profile == sap


def test_the_command_matches_a_profile_by_file_name_unless_told_not_to(tmp_path, refs, sap, capsys):
    path = tmp_path / "VBRK_1.csv"
    path.write_text(SAP_HEADER + SAP_ROWS.replace("12-", "12"))
    call_command("import_extract", "sales_history", str(path))
    assert "(its file-name pattern VBRK_*.csv fits the file)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        call_command("import_extract", "sales_history", str(path), "--no-profile")
    assert "unknown column" in capsys.readouterr().err


def test_the_command_refuses_an_unknown_profile(tmp_path, sap):
    path = tmp_path / "x.csv"
    path.write_text(SAP_HEADER)
    with pytest.raises(Exception, match=r"No import profile named 'SAP' \(SAP billing\)"):
        call_command("import_extract", "sales_history", str(path), "--profile", "SAP")


def test_a_dry_run_prints_the_preview_and_writes_nothing(tmp_path, refs, sap, capsys, settings):
    path = tmp_path / "VBRK_1.csv"
    path.write_text(SAP_HEADER + SAP_ROWS.replace("12-", "12"))
    call_command("import_extract", "sales_history", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "The first 2 rows as they would be stored:" in out
    assert "  row  sku  location_code  month       quantity  revenue\n" in out
    assert "  2    A1   WH1            2026-03-01  3,900     1,234.5\n" in out
    assert "  3    B2   WH1            2026-03-01  12        —\n" in out
    assert "Dry run: 2 rows are valid and would be loaded; nothing was written." in out
    assert not ImportJob.objects.exists() and not SalesHistory.objects.exists()
    assert not Path(settings.MEDIA_ROOT).exists()


def test_a_dry_run_of_a_bad_file_lists_every_error_and_exits_1(tmp_path, refs, sap, capsys):
    path = tmp_path / "VBRK_1.csv"
    path.write_text(SAP_HEADER + SAP_ROWS + "Z9;WH1;13.2026;1;;EUR\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_extract", "sales_history", str(path), "--dry-run")
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert re.search(r"\n  3 +B2 +WH1 +2026-03-01 +12- \(!\) +—\n", captured.out)
    assert re.search(r"\n  4 +Z9 \(!\) +WH1 +13\.2026 \(!\) +1 +—\n", captured.out)
    assert "Dry run: 3 errors found; the import would load nothing. Nothing was written." in (
        captured.err
    )
    # By problem, the wrong values before the unknown SKU.
    assert (
        "  quantity: negative quantity: must be 0 or more (1 row)\n    row 3: '12-'\n"
        in captured.err
    )
    assert "  sku: unknown SKU (1 row)\n    row 4: 'Z9'\n" in captured.err
    assert captured.err.index("quantity: negative") < captured.err.index("sku: unknown SKU")
    assert not ImportJob.objects.exists()


# -- The examples of docs/import-formats.md, as written there -------------------------------


SAP_EXAMPLE = (
    "Verkaufsmengen je Material und Werk;;;;;\n"
    "Kalenderjahr/Monat: 01.2026 - 03.2026;;;;;\n"
    ";;;;;\n"
    "Material;Werk;Kalenderjahr/Monat;Fakturierte Menge;Nettowert;VerkME\n"
    "WID-100;WH-NORTH;01.2026;390,000;4.251,00;ST\n"
    "WID-100;WH-NORTH;02.2026;1.430,500;15.592,45;ST\n"
)


@pytest.fixture
def documented_refs():
    ProductFactory(sku="WID-100", family="Widgets")
    ProductFactory(sku="GAD-010", family="Gadgets")
    LocationFactory(code="WH-NORTH")


def test_the_documented_sap_example_loads(tmp_path, documented_refs, admin):
    profile = import_profiles.import_profile_create(
        user=admin,
        name="SAP sales",
        source="SAP ECC",
        entity="sales_history",
        file_name_pattern="SAP_SALES_*.csv",
        options=ReadOptions.with_number_format(
            "1.234,5",
            encoding="windows-1252",
            trailing_minus=True,
            month_format="mm.yyyy",
            header_row=4,
            columns={
                "Material": "sku",
                "Werk": "location_code",
                "Kalenderjahr/Monat": "month",
                "Fakturierte Menge": "quantity",
                "Nettowert": "revenue",
            },
            ignored=("VerkME",),
        ),
    )
    path = tmp_path / "SAP_SALES_2026Q1.csv"
    path.write_bytes(SAP_EXAMPLE.encode("windows-1252"))
    reading = import_reading(entity="sales_history", file_name=path.name)
    assert reading.profile == profile
    job = imports.import_file(entity="sales_history", path=path, reading=reading)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert sorted(SalesHistory.objects.values_list("month", "quantity", "revenue")) == [
        (dt.date(2026, 1, 1), Decimal("390"), Decimal("4251")),
        (dt.date(2026, 2, 1), Decimal("1430.5"), Decimal("15592.45")),
    ]
    credit = tmp_path / "SAP_SALES_credit.csv"
    credit.write_bytes(
        (SAP_EXAMPLE + "WID-100;WH-NORTH;03.2026;15,000-;163,50-;ST\n").encode("cp1252")
    )
    refused = imports.import_file(
        entity="sales_history",
        path=credit,
        reading=import_reading(entity="sales_history", file_name=credit.name),
    )
    assert [(e["row"], e["column"], e["reason"]) for e in refused.errors] == [
        (7, "quantity", "negative quantity: must be 0 or more"),
        (7, "revenue", "negative revenue: must be 0 or more"),
    ]


def test_the_documented_odoo_example_loads(tmp_path, documented_refs, admin):
    profile = import_profiles.import_profile_create(
        user=admin,
        name="Odoo purchases",
        source="Odoo 17",
        entity="receipts",
        file_name_pattern="purchase.order.line*.xlsx",
        options=ReadOptions(
            with_time=True,
            columns={
                "Order Reference": "order_ref",
                "Product/Internal Reference": "sku",
                "Expected Arrival": "due_month",
                "Quantity": "quantity",
            },
            ignored=("Product", "Unit of Measure"),
            constants={"location_code": "WH-NORTH", "kind": "purchase"},
        ),
    )
    book = openpyxl.Workbook()
    book.active.append(
        ["Order Reference", "Product/Internal Reference", "Product", "Expected Arrival",
         "Quantity", "Unit of Measure"]
    )  # fmt: skip
    book.active.append(
        ["P00042", "GAD-010", "Gadget Mini", dt.datetime(2026, 4, 15, 10), 200, "Units"]
    )
    path = tmp_path / "purchase.order.line (purchase.order.line).xlsx"
    book.save(path)
    reading = import_reading(entity="receipts", file_name=path.name)
    assert reading.profile == profile
    job = imports.import_file(entity="receipts", path=path, reading=reading)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    receipt = ScheduledReceipt.objects.get()
    assert (receipt.order_ref, receipt.product.sku, receipt.location.code) == (
        "P00042",
        "GAD-010",
        "WH-NORTH",
    )
    assert (receipt.due_month, receipt.quantity, receipt.kind) == (
        dt.date(2026, 4, 1),
        Decimal("200"),
        "purchase",
    )
    book.active.append(["P00042", "GAD-010", "Gadget Mini", dt.datetime(2026, 5, 2), 50, "Units"])
    book.save(path)
    twice = imports.import_file(entity="receipts", path=path, reading=reading)
    assert [e["reason"] for e in twice.errors] == [
        "duplicate key (order_ref, sku, location_code): same as row 2"
    ]
