#!/usr/bin/env python3
"""Writes examples/import/community-health/caseload.xlsx: a community health
trust's caseload export (sheets Patients, Needs, Goals, Actions, Outcomes), as
Excel writes one: shared strings, dates as serial numbers with a date style.
Only the standard library, so the example can be rebuilt anywhere:

    python3 tools/make_import_workbook.py examples/import/community-health/caseload.xlsx
"""
import datetime, sys, zipfile
from xml.sax.saxutils import escape

SHEETS = {
    'Patients': [
        ['Patient No', 'Patient Name', 'NHS Number', 'DOB', 'Caseload Review', 'Funding', 'Funding Detail'],
        ['CH-0001', 'Peter Lindqvist', '9990004044', datetime.date(1951, 5, 2), datetime.date(2026, 7, 1), 'CHC', 'NHS Continuing Healthcare, awarded January 2026'],
        ['CH-0002', 'Nora Kelly', '9990005055', datetime.date(1947, 12, 24), datetime.date(2026, 6, 15), 'Self', 'Pays privately for a cleaner; nursing care is NHS'],
    ],
    'Needs': [
        ['Patient No', 'Need ID', 'Type', 'SNOMED', 'Need'],
        ['CH-0001', 'N1', 'Problem', '13645005', 'COPD; breathless walking to the end of the garden.'],
        ['CH-0001', 'N2', 'Need', '', 'Wants to keep smoking less and eventually stop.'],
        ['CH-0002', 'N1', 'Problem', '', 'Leg ulcer on the left shin, slow to heal.'],
    ],
    'Goals': [
        ['Patient No', 'Goal ID', 'Goal', 'Why it matters to me', 'Importance (1-10)', 'Needs', 'Goal Status'],
        ['CH-0001', 'G1', 'Walk to the paper shop and back without stopping.', 'I like to choose my own paper and chat to the shopkeeper.', 8, 'N1', 'In progress'],
        ['CH-0001', 'G2', 'Stop smoking by my birthday.', 'My grandson asked me to.', 9, 'N2', 'Agreed'],
        ['CH-0002', 'G1', 'Ulcer healed by the summer.', 'So I can go swimming with my friends again.', 7, 'N1', 'In progress'],
    ],
    'Actions': [
        ['Patient No', 'Action ID', 'Goal ID', 'Action', 'Owner', 'Owner Role', 'Start Date', 'Due Date', 'Action Status', 'Confidence', 'Review'],
        ['CH-0001', 'A1', 'G1', 'Pulmonary rehabilitation course, twice a week for six weeks.', 'Respiratory team', 'Physiotherapist', datetime.date(2026, 3, 2), datetime.date(2026, 4, 10), 'In progress', 7, datetime.date(2026, 4, 15)],
        ['CH-0001', 'A2', 'G2', 'Referral to the stop smoking service; nicotine patches.', 'Dr Helen Marsh', 'GP', datetime.date(2026, 2, 20), '', 'Done', 6, datetime.date(2026, 5, 1)],
        ['CH-0002', 'A1', 'G1', 'Compression bandaging, district nurse visits twice a week.', 'District nursing team', 'District nurse', datetime.date(2026, 1, 12), '', 'In progress', 8, datetime.date(2026, 3, 30)],
    ],
    'Outcomes': [
        ['Patient No', 'Outcome ID', 'Goal ID', 'Outcome', 'Recorded'],
        ['CH-0001', 'O1', 'G2', 'Down from 20 to 5 cigarettes a day.', datetime.datetime(2026, 3, 20, 10, 30)],
    ],
}

EPOCH = datetime.datetime(1899, 12, 30)

def cell(ref, value, strings):
    if isinstance(value, (datetime.date, datetime.datetime)):
        dt = value if isinstance(value, datetime.datetime) else datetime.datetime.combine(value, datetime.time())
        serial = (dt - EPOCH).total_seconds() / 86400
        style = 2 if isinstance(value, datetime.datetime) else 1
        return f'<c r="{ref}" s="{style}"><v>{serial!r}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if value == '':
        return ''
    if value not in strings:
        strings.append(value)
    return f'<c r="{ref}" t="s"><v>{strings.index(value)}</v></c>'

def column(i):
    s = ''
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s

def main(out):
    strings = []
    sheets = []
    for rows in SHEETS.values():
        body = ''.join(
            f'<row r="{r + 1}">' + ''.join(cell(f'{column(c)}{r + 1}', v, strings) for c, v in enumerate(row)) + '</row>'
            for r, row in enumerate(rows))
        sheets.append('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                      '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + body + '</sheetData></worksheet>')
    ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
    rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml',
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            + ''.join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(sheets)))
            + '</Types>')
        z.writestr('_rels/.rels',
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
        z.writestr('xl/workbook.xml',
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{ns}" xmlns:r="{rel}"><sheets>'
            + ''.join(f'<sheet name="{escape(name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, name in enumerate(SHEETS))
            + '</sheets></workbook>')
        z.writestr('xl/_rels/workbook.xml.rels',
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + ''.join(f'<Relationship Id="rId{i + 1}" Type="{rel}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(sheets)))
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{rel}/styles" Target="styles.xml"/>'
            + f'<Relationship Id="rId{len(sheets) + 2}" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            + '</Relationships>')
        z.writestr('xl/styles.xml',
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{ns}">'
            '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/></numFmts>'
            '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs>'
            '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs>'
            '</styleSheet>')
        z.writestr('xl/sharedStrings.xml',
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{ns}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            + ''.join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings) + '</sst>')
        for i, body in enumerate(sheets):
            z.writestr(f'xl/worksheets/sheet{i + 1}.xml', body)

if __name__ == '__main__':
    main(sys.argv[1])
