"""The downloadable roster template (Excel out): the people sheet with one
example row, the charges sheet, and a notes sheet."""
from __future__ import annotations

from .roster_check import col_letter
from .roster_format import CHARGE_COLUMNS, PEOPLE_COLUMNS


def template_workbook(departments: list[tuple[str, str]], unit_name: str, out) -> None:
    """Write the downloadable template: the people sheet with one example
    row, the charges sheet, and a notes sheet listing the unit's departments
    and the accepted values.  ``out`` is a path or a binary file object."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "人员 People"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F3")
    req_fill = PatternFill("solid", fgColor="F8D7C9")
    for idx, col in enumerate(PEOPLE_COLUMNS, start=1):
        c = ws.cell(row=1, column=idx, value=col.header)
        c.font, c.fill = bold, (req_fill if col.required else fill)
        c.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[col_letter(idx - 1)].width = 16
        if col.kind == "enum":
            dv = DataValidation(type="list", formula1='"' + ",".join(s[0] for s in col.choices.values()) + '"',
                                allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{col_letter(idx - 1)}2:{col_letter(idx - 1)}5000")
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"
    for idx, col in enumerate(PEOPLE_COLUMNS, start=1):
        cell = ws.cell(row=2, column=idx, value=col.example if col.example != "" else None)
        if col.kind == "date" and col.example:
            cell.number_format = "yyyy-mm-dd"
    ch = wb.create_sheet("分管 Charges")
    for idx, col in enumerate(CHARGE_COLUMNS, start=1):
        c = ch.cell(row=1, column=idx, value=col.header)
        c.font, c.fill = bold, (req_fill if col.required else fill)
        c.alignment = Alignment(wrap_text=True)
        ch.column_dimensions[col_letter(idx - 1)].width = 18
    notes = wb.create_sheet("说明 Notes")
    lines = [
        (f"{unit_name} 人员名册模板", "Roster template"),
        ("红色表头为必填列；第2行为示例，请替换。", "Red titles are required; row 2 is an example, replace it."),
        ("请填写数值，不要使用公式。", "Enter values, not formulas."),
        ("按工号更新：已有工号的人员将被更新，新工号将新增。", "Existing staff numbers are updated, new ones added."),
        ("已有人员的空白单元格保持系统中的原值；要清空某项（如岗位、直接上级、科室），请在单元格中填写“清空”。",
         "An empty cell keeps the stored value; write \"清空\" in a cell to clear it (e.g. post, supervisor, "
         "department: 清空 moves the person to the unit itself)."),
        ("只有“离开”列填写“离开”的人员才会离开本单位名册；上传时勾选“文件中没有的人员已离开”也会移除文件中未列出的人员。",
         "Only a row marked \"离开\" in the Leaves column takes a person off the roster (or the upload option "
         "\"people missing from the file have left\")."),
        ("上传后先检查：页面列出将新增、修改（逐项原值→新值）、调动、清空、移除的人员和分管变化，确认后再导入，导入只做所列的变化。",
         "After the upload the check lists every change (new, field-by-field updates, moves, clears, removals, "
         "分管 links); the import makes exactly those changes."),
        ("公民身份号码：18位，最后一位可为X，按国家标准校验；出生日期、性别可不填（由号码推算），填写时须与号码一致；同一号码在全省只能属于一人。"
         "导出的名册中号码为打码形式，原样导回时保持原号码不变。",
         "ID number: 18 characters, the last may be X, checked by GB 11643; birth date and gender may be left "
         "empty (derived from it) and must agree when given; one number per person in the province. Exports show "
         "it masked; a masked number re-imported keeps the stored one."),
        ("人员身份：公务员、参照管理、工勤、事业、聘用人员均参加本单位平时考核和年度考核。",
         "Staff category: every category takes part in the unit's routine and annual assessment."),
        ("“分管”页：每行一个分管领导与其分管科室，导入时新增；“删除”列填“删除”才取消该分管关系，未列出的分管关系保持不变。",
         "Charges sheet: one leader–department pair per row, added on import; only a row marked \"删除\" in the "
         "Remove column ends a charge, charges not listed stay as they are."),
        ("", ""),
        ("本单位科室 Departments", ""),
    ]
    for code, name in departments:
        lines.append((code, name))
    lines.append(("", ""))
    for col in PEOPLE_COLUMNS:
        if col.kind == "enum":
            lines.append((col.zh, " / ".join(f"{s[0]} ({k})" for k, s in col.choices.items())))
        elif col.hint_zh:
            lines.append((col.zh, f"{col.hint_zh} · {col.hint_en}"))
    for r, (a, b) in enumerate(lines, start=1):
        notes.cell(row=r, column=1, value=a)
        notes.cell(row=r, column=2, value=b)
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 70
    wb.save(out)
