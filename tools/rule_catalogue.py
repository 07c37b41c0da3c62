#!/usr/bin/env python3
"""Writes conformance-tests/rules.md: every message key of the HL7 Java
validator's catalogue, where the reference raises it, with what severity and
issue type, and careplan's status.

    python3 tools/rule_catalogue.py JAVA_SOURCE MESSAGES CONFORMANCE_JSON > conformance-tests/rules.md

JAVA_SOURCE: a checkout of hapifhir/org.hl7.fhir.core (the careplan `fetch`
of it, or git clone); MESSAGES: ../shared/hl7-validator-messages/Messages.properties;
CONFORMANCE_JSON: `careplan conformance MANIFEST --all --json` on the shared cases.

`implemented` means careplan's own messages on the shared cases match the
key's wording, perhaps followed by careplan's detail in parentheses
(measured; `cargo test --test rule_catalogue` checks it again),
`not yet` that the reference raises it while validating instances and
careplan was not seen to, `not applicable` that nothing in instance
validation raises it (with where it is raised instead).
"""
import json, os, re, sys
from collections import defaultdict

java_root, messages_path, conformance_path = sys.argv[1:4]

def read_messages(path):
    keys = {}
    for line in open(path, encoding='utf-8'):
        line = line.rstrip('\n')
        if not line or line.startswith('#') or '=' not in line:
            continue
        k, v = line.split('=', 1)
        keys[k.strip()] = v.strip()
    return keys

def template(text):
    """A key's wording as a regex: placeholders match any text, and the
    wording may be followed by careplan's own detail in parentheses
    (`Boolean values must be 'true' or 'false' (found 'yes')`)."""
    text = text.replace("''", "'")
    parts = re.split(r'\{\d+\}', text)
    literal = sum(len(p.strip()) for p in parts)
    return re.compile('^' + '(.+?)'.join(re.escape(p) for p in parts) + r'( \(.+\))?$', re.S), literal

keys = read_messages(messages_path)

# Constant name -> key, from I18nConstants.java.
const_to_key = {}
for dirpath, _, files in os.walk(java_root):
    for f in files:
        if f == 'I18nConstants.java':
            for m in re.finditer(r'public static final String (\w+)\s*=\s*"([^"]+)"', open(os.path.join(dirpath, f), encoding='utf-8').read()):
                const_to_key[m.group(1)] = m.group(2)

SEVERITY = [
    (re.compile(r'^(rule|txRule|ruleHtml|ruleInv|ruleAt|fail|preciseRule)'), 'error'),
    (re.compile(r'^(warningOrError|hintOrError)'), 'warning or error'),
    (re.compile(r'^(warningOrHint)'), 'information or warning'),
    (re.compile(r'^(warning|txWarning|warningHtml|warningInv|warningPlural|suppressedwarning)'), 'warning'),
    (re.compile(r'^(hint|txHint|hintHtml|hintInv|hintPlural|signpost)'), 'information'),
]
CALL = re.compile(r'\b(rule\w*|txRule|warning\w*|txWarning|hint\w*|txHint|fail|signpost|suppressedwarning|preciseRule)\s*\(')

def area(rel):
    if '/instance/' in rel or '/validation/codesystem/' in rel or '/validation/special/' in rel or rel.endswith('/validation/BaseValidator.java'):
        return 'instance'
    if '/r5/elementmodel/' in rel or '/utilities/xhtml/' in rel:
        return 'instance'  # the readers: JSON and XML errors are part of validating a file
    if '/r5/fhirpath/' in rel:
        return 'instance'  # invariants run through the FHIRPath engine
    if '/r5/terminologies/' in rel:
        return 'instance'  # bindings are checked through the terminology layer
    if '/conformance/profile/' in rel:
        return 'snapshot'
    return 'other'

uses = defaultdict(lambda: {'severity': set(), 'type': set(), 'files': set(), 'areas': set()})
for dirpath, _, files in os.walk(java_root):
    for f in files:
        if not f.endswith('.java') or f == 'I18nConstants.java' or '/src/test/' in dirpath:
            continue
        path = os.path.join(dirpath, f)
        rel = os.path.relpath(path, java_root)
        text = open(path, encoding='utf-8', errors='replace').read()
        for m in re.finditer(r'I18nConstants\.(\w+)', text):
            const = m.group(1)
            key = const_to_key.get(const)
            if key is None:
                continue
            u = uses[key]
            u['files'].add(f[:-5])
            u['areas'].add(area(rel))
            # The call this constant is an argument of: the nearest call opened before it.
            before = text[max(0, m.start() - 700):m.start()]
            calls = list(CALL.finditer(before))
            if calls:
                name = calls[-1].group(1)
                for pattern, sev in SEVERITY:
                    if pattern.match(name):
                        u['severity'].add(sev)
                        break
                t = re.findall(r'IssueType\.([A-Z_]+)', before[calls[-1].start():])
                if t:
                    u['type'].add(t[-1].lower().replace('_', '-'))

conformance = json.load(open(conformance_path))
ours = set()
for run in conformance['runs']:
    for msg in run.get('ours', []):
        ours.add(msg.get('text', '').replace('\n', ' '))

def rust_strings(src):
    """The string literals of Rust source, read token by token: comments,
    character literals ('"') and raw strings (r#"..."#) would otherwise
    pair the wrong quotes and hide every literal after them."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i)
            i = n if j < 0 else j
        elif src.startswith('/*', i):
            j = src.find('*/', i + 2)
            i = n if j < 0 else j + 2
        elif c == 'r' and re.match(r'r#*"', src[i:i + 8]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == '_')):
            hashes = len(re.match(r'r(#*)"', src[i:]).group(1))
            end = '"' + '#' * hashes
            start = i + 2 + hashes
            j = src.find(end, start)
            j = n if j < 0 else j
            out.append(src[start:j])
            i = j + len(end)
        elif c == "'":
            # A character literal ('a', '\'', '\u{..}') or a lifetime ('a).
            m = re.match(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'", src[i:])
            i += len(m.group(0)) if m else 1
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            out.append(src[i + 1:j])
            i = j + 1
        else:
            i += 1
    return out

# careplan's own wordings: every string literal of the validator's source,
# its `{...}` placeholders standing for any text.
CAREPLAN_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src')
literals = []
for dirpath, _, files in os.walk(CAREPLAN_SRC):
    if os.sep + 'server' in dirpath or os.sep + 'prsb' in dirpath:
        continue
    for f in files:
        # Tests' literals say what a rule should write, not that it does:
        # test files and the test modules at the end of a file are left out.
        if f.endswith('.rs') and f != 'tests.rs':
            rel = os.path.relpath(os.path.join(dirpath, f), os.path.join(CAREPLAN_SRC, '..'))
            code = open(os.path.join(dirpath, f), encoding='utf-8').read().split('\n#[cfg(test)]')[0]
            for raw in rust_strings(code):
                text = raw.replace("\\'", "'").replace('\\"', '"')
                if len(text) >= 12:
                    literals.append((re.sub(r'\{[^{}]*\}', 'X', text), rel))

def evidence(key):
    """Where careplan shows the key's wording: on the shared cases, or in its code."""
    regex, literal = template(keys[key])
    if literal < 12:
        return None  # too little fixed wording to tell which rule a message is
    if any(regex.match(m) for m in ours):
        return 'the shared cases'
    for text, rel in literals:
        if regex.match(text):
            return rel
    return None

# Keys that cannot fire in careplan by its design, with why.
BY_DESIGN = {
    'TYPE_SPECIFIC_CHECKS_DT_BASE64_NO_WS_ERROR': 'R5 and later only: on R4 content the reference raises the warning (TYPE_SPECIFIC_CHECKS_DT_BASE64_NO_WS_WARNING), as careplan does',
    'BUNDLE_BUNDLE_ENTRY_REVERSE_R5': 'R5 and later only: on R4 content the reference raises BUNDLE_BUNDLE_ENTRY_REVERSE_R4, as careplan does',
    'TYPE_SPECIFIC_CHECKS_DT_QTY_MIN_NO_UCUM_SVC': 'careplan always has the UCUM tables (the ucum-units crate), so a limit is never left unchecked for want of a UCUM service',
    'TYPE_SPECIFIC_CHECKS_DT_QTY_MAX_NO_UCUM_SVC': 'careplan always has the UCUM tables (the ucum-units crate), so a limit is never left unchecked for want of a UCUM service',
    # R5 and later only: the elements or types these are about are not in R4.
    **{k: 'R5 and later only: MeasureReport group, population and stratifier linkIds (and the R5 rules that use them) are not in R4' for k in (
        'MEASURE_MR_GRP_MISSING_BY_CODE_R5', 'MEASURE_MR_GRP_NO_CODE_R5', 'MEASURE_MR_GRP_NO_WRONG_LINKID', 'MEASURE_MR_GRP_POP_NO_CODE_R5',
        'MEASURE_MR_GRP_POP_UNK_LINKID', 'MEASURE_MR_GRP_STRAT_MISSING_BY_CODE_R5', 'MEASURE_MR_GRP_STRAT_NO_CODE_R5', 'MEASURE_MR_GRP_STRAT_UNK_LINKID',
        'MEASURE_MR_GRP_UNK_LINKID')},
    **{k: 'R5 and later only: no R4 type declares type parameters' for k in (
        'SD_TYPE_PARAM_NOT_SPECIFIED', 'SD_TYPE_PARAMETER_ABSTRACT_WARNING', 'SD_TYPE_PARAMETER_INVALID', 'SD_TYPE_PARAMETER_INVALID_REF',
        'SD_TYPE_PARAMETER_MISSING', 'SD_TYPE_PARAMETER_UNKNOWN')},
    'SD_PATH_SLICING_DEPRECATED_R5': 'R5 and later only: on R4 content the reference raises SD_PATH_SLICING_DEPRECATED, as careplan does',
    **{k: 'versions before R3 only' for k in ('Unsupported_version_R1', 'Unsupported_version_R2', 'Unsupported_version_R2B')},
    **{k: 'versions before R4 only (R4 Composition.date is required, so a document without it is a cardinality error)' for k in ('Bundle_Document_Date_Missing', 'Bundle_Document_Date_Missing_html')},
    # Never raised: the call is commented out, or its condition cannot hold.
    'BUNDLE_LINK_UNKNOWN': 'the reference never raises it (its call is commented out in BundleValidator)',
    'SD_ED_SHOULD_BIND': 'the reference never raises it (its call is commented out in StructureDefinitionValidator)',
    'Questionnaire_QR_Item_NotEnabled': 'the reference never raises it (its call is commented out in QuestionnaireValidator)',
    'Bundle_BUNDLE_Entry_IdUrlMismatch': 'the reference never raises it (the method that would is not called)',
    'QUESTIONNAIRE_Q_ITEM_DERIVED_NI_ANSWER_VS': 'the reference never raises it (its condition always holds in the branch that checks it)',
    'Questionnaire_QR_Item_CodingNoOptions': 'the reference never raises it (the branch that would is unreachable)',
    'SD_OBGLIGATION_PROFILE_UKNOWN': 'the reference never raises it (it is checked inside a branch where the base is already known)',
    'OPDEF_PROFILE_NO_FIXED': 'the reference never raises it (its condition, that the parameter\'s definition was found, always holds where it is checked)',
    'SM_TARGET_TRANSFORM_OP_UNKNOWN_SOURCE': 'the reference never raises it (it is checked right after the same condition was tested)',
    'SM_GROUP_INPUT_TYPE_NOT_DECLARED': 'the reference never raises it (SM_GROUP_INPUT_NO_TYPE stops that path first)',
    'SM_TARGET_TRANSFORM_OP_INVALID_TYPE': 'never on R4 content: every R4 StructureMap parameter value is a primitive',
    **{k: 'the reference never raises it (its branch begins `false &&`)' for k in ('MSG_DEPENDS_ON_DRAFT', 'MSG_DEPENDS_ON_EXPERIMENTAL')},
    'This_cannot_be_parsed_as_a_FHIR_object_no_name': 'the reference never raises it (the root always has a name where it is checked)',
    'XHTML_XHTML_Image_Reference_Illegal': 'raised only under an XHTML parser policy the validator does not use',
    # Logical models and forms of them R4 resources never take.
    **{k: 'raised only when reading a logical model (type specifiers, keyed arrays, JSON primitive choices, model names), never an R4 resource' for k in (
        'TYPE_SPECIFIER_ABSTRACT_TYPE', 'TYPE_SPECIFIER_ILLEGAL_TYPE', 'TYPE_SPECIFIER_NM_ABSTRACT_TYPE', 'TYPE_SPECIFIER_NM_ILLEGAL_TYPE',
        'OBJECT_CANNOT_BE_KEYED_ARRAY_CHILD_COUNT', 'OBJECT_CANNOT_BE_KEYED_ARRAY_NO_CHOICE', 'OBJECT_CANNOT_BE_KEYED_ARRAY_NO_LIST',
        'OBJECT_CANNOT_BE_KEYED_ARRAY_PROP_NAME', 'OBJECT_CANNOT_BE_KEYED_ARRAY_PROP_TYPE', 'UNRECOGNISED_PROPERTY_TYPE', 'UNRECOGNISED_PROPERTY_TYPE_WRONG',
        'LOGICAL_MODEL_NAME_MISMATCH', 'LOGICAL_MODEL_QNAME_MISMATCH', 'No_type_found_on_', 'Unknown_Data_format_', 'Unknown_Date_format_')},
    'ILLEGAL_COMMENT_TYPE': 'versions before R3 only (DSTU2 JSON comments)',
    'REFERENCE_REF_REL_UNSOLVEABLE': 'R5 and later only: it depends on the R5 policy for relative references in Bundles',
    'CODESYSTEM_PROPERTY_CODE_WARNING': 'R6 and later only',
    **{k: 'R5 and later only: ConceptMap target properties are not in R4' for k in (
        'CONCEPTMAP_GROUP_TARGET_PROPERTY_CODE_INVALID', 'CONCEPTMAP_GROUP_TARGET_PROPERTY_INVALID', 'CONCEPTMAP_GROUP_TARGET_PROPERTY_TYPE_MISMATCH',
        'CONCEPTMAP_GROUP_TARGET_PROPERTY_TYPE_NO_SYSTEM', 'CONCEPTMAP_GROUP_TARGET_PROPERTY_TYPE_UNKNOWN_SYSTEM')},
    # What only a failure of the reference itself raises.
    'ERROR_PROCESSING_SNAPSHOT': 'raised only for an exception inside the reference while it generates a snapshot',
    'Questionnaire_QR_Item_Coding': 'raised only for an exception inside the reference while it checks a coding',
    'IG_DEPENDENCY_EXCEPTION': 'raised only for an exception inside the reference while it reads a dependency',
    'error_writing_number__to_JSON': 'raised by the reference\'s JSON writer, not while validating',
    # careplan's design.
    **{k: 'careplan takes the signing key from the certificate in the signature itself and has no store of certificates to look a key id up in, so the key is never missing' for k in (
        'BUNDLE_SIGNATURE_SIG_FAIL_KID', 'BUNDLE_SIGNATURE_SIG_FAIL_CERT_ID', 'BUNDLE_SIGNATURE_HEADER_CERT_NOT_FOUND_ERROR')},
    'BUNDLE_SIGNATURE_PAYLOAD_INVALID': 'careplan reads a signature\'s payload as leniently as the reference reads it, so a payload it cannot read does not arise',
}

# Keys careplan does not check yet, with why (shown in the careplan column).
NOT_YET_WHY = {
    'CODESYSTEM_THO_CHECK': 'raised only in the reference\'s for-publication mode, which careplan does not have',
    'NARRATIVE_NOT_TRANSLATED': 'raised only by the IG publisher\'s language checks',
    'Resource_RES_ID_Prohibited': 'raised only when the reference is set to forbid resource ids, which careplan has no setting for',
    **{k: 'raised only in the reference\'s for-publication mode, which careplan does not have' for k in (
        'CODESYSTEM_SHAREABLE_EXTRA_MISSING', 'CODESYSTEM_SHAREABLE_EXTRA_MISSING_HL7', 'CODESYSTEM_SHAREABLE_MISSING', 'CODESYSTEM_SHAREABLE_MISSING_HL7',
        'CONCEPTMAP_SHAREABLE_EXTRA_MISSING', 'CONCEPTMAP_SHAREABLE_EXTRA_MISSING_HL7', 'CONCEPTMAP_SHAREABLE_MISSING', 'CONCEPTMAP_SHAREABLE_MISSING_HL7',
        'MEASURE_SHAREABLE_EXTRA_MISSING', 'MEASURE_SHAREABLE_EXTRA_MISSING_HL7', 'MEASURE_SHAREABLE_MISSING', 'MEASURE_SHAREABLE_MISSING_HL7',
        'VALUESET_SHAREABLE_EXTRA_MISSING', 'VALUESET_SHAREABLE_EXTRA_MISSING_HL7', 'VALUESET_SHAREABLE_MISSING', 'VALUESET_SHAREABLE_MISSING_HL7')},
}

# Keys whose wording another key shares, where careplan raises only the other.
SHARED_WORDING = {
    'BUNDLE_SIGNATURE_DIGSIG_SIGNED_MISMATCH': 'XML digital signatures are not checked; the wording is BUNDLE_SIGNATURE_PAYLOAD_MISMATCH\'s too',
    'BUNDLE_SIGNATURE_DIGSIG_X509_ERROR': 'XML digital signatures are not checked; the wording is BUNDLE_SIGNATURE_HEADER_X509_ERROR\'s too',
}

rows = []
counts = defaultdict(int)
for key in sorted(keys, key=str.lower):
    u = uses.get(key)
    shown = evidence(key)
    if key in SHARED_WORDING and shown != 'the shared cases':
        status = f'not yet ({SHARED_WORDING[key]})'
    elif shown == 'the shared cases':
        status = 'implemented (seen on the shared cases)'
    elif shown:
        status = f'implemented (its wording is in `{shown}`; no shared case shows it)'
    elif key in BY_DESIGN:
        status = 'not applicable: ' + BY_DESIGN[key]
    elif u and 'instance' in u['areas']:
        status = f'not yet ({NOT_YET_WHY[key]})' if key in NOT_YET_WHY else 'not yet'
    elif u and 'snapshot' in u['areas']:
        status = 'not applicable: raised while generating snapshots, not while validating an instance'
    elif u:
        status = 'not applicable: raised outside instance validation (' + ', '.join(sorted(u['files']))[:80] + ')'
    else:
        status = 'not applicable: no code of the reference raises it'
    counts[status.split(':')[0].split(' (')[0]] += 1
    sev = ' / '.join(sorted(u['severity'])) if u else ''
    typ = ' / '.join(sorted(u['type'])) if u else ''
    where = ', '.join(sorted(u['files']))[:60] if u else ''
    rows.append(f'| `{key}` | {sev} | {typ} | {where} | {status} |')

print('# Rule catalogue: the HL7 Java validator\'s message keys and careplan')
print()
print('Generated by `tools/rule_catalogue.py` from the reference validator\'s source (hapifhir/org.hl7.fhir.core at the commit of')
print('`../shared/hl7-validator-messages`), its message catalogue, and `careplan conformance --all --json` on the shared cases.')
print('`cargo test --test rule_catalogue` checks every key is here and that the `implemented` rows are exactly the keys whose wording')
print('careplan\'s messages on the shared cases (or the string literals of the source file named) match, perhaps followed by careplan\'s')
print('own detail in parentheses. Severity and issue type are read off the call that raises the key (blank where')
print('the reference raises it through a helper).')
print()
print('| status | keys |')
print('| --- | --- |')
for k in ['implemented', 'not yet', 'not applicable']:
    print(f'| {k} | {counts[k]} |')
print(f'| all | {len(keys)} |')
print()
print('| key | severity | issue type | raised in | careplan |')
print('| --- | --- | --- | --- | --- |')
for r in rows:
    print(r)
