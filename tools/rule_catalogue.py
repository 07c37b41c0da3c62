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
    **{k: 'raised only in the reference\'s for-publication mode, which careplan does not have' for k in (
        'CODESYSTEM_SHAREABLE_EXTRA_MISSING', 'CODESYSTEM_SHAREABLE_EXTRA_MISSING_HL7', 'CODESYSTEM_SHAREABLE_MISSING', 'CODESYSTEM_SHAREABLE_MISSING_HL7',
        'CONCEPTMAP_SHAREABLE_EXTRA_MISSING', 'CONCEPTMAP_SHAREABLE_EXTRA_MISSING_HL7', 'CONCEPTMAP_SHAREABLE_MISSING', 'CONCEPTMAP_SHAREABLE_MISSING_HL7',
        'MEASURE_SHAREABLE_EXTRA_MISSING', 'MEASURE_SHAREABLE_EXTRA_MISSING_HL7', 'MEASURE_SHAREABLE_MISSING', 'MEASURE_SHAREABLE_MISSING_HL7',
        'VALUESET_SHAREABLE_EXTRA_MISSING', 'VALUESET_SHAREABLE_EXTRA_MISSING_HL7', 'VALUESET_SHAREABLE_MISSING', 'VALUESET_SHAREABLE_MISSING_HL7')},
}

# Folded in from the rule-family work of 2026-12-06 (each reason read off the reference's source).
BY_DESIGN.update({
    'BUNDLE_RULE_INVALID_INDEX': 'not a validation message: thrown as a Java Error while reading the bundle validation rules given on the command line (`-bundle`), an option careplan does not have',
    'BUNDLE_RULE_NONE': 'not a validation message: thrown as a Java Error while reading `-bundle` rules (see BUNDLE_RULE_INVALID_INDEX)',
    'BUNDLE_RULE_PROFILE_UNKNOWN': 'not a validation message: thrown as a Java Error when a `-bundle` rule names an unknown profile (see BUNDLE_RULE_INVALID_INDEX)',
    'BUNDLE_RULE_UNKNOWN': 'not a validation message: thrown as a Java Error while reading `-bundle` rules (see BUNDLE_RULE_INVALID_INDEX)',
    'Bundle_BUNDLE_Entry_Canonical': "the reference never raises it as the validator runs: BundleValidator checks it only when given a server base, and InstanceValidator's `serverBase` field (the only thing passed to BundleValidator) is never assigned, so it is always null and the rule always holds",
    'CDA_UNKNOWN_TEMPLATE': 'raised only when validating CDA documents against the CDA logical models (templateId lookups); careplan validates FHIR R4 resources, never CDA',
    'CDA_UNKNOWN_TEMPLATE_EXT': 'as CDA_UNKNOWN_TEMPLATE: CDA templates only',
    'CS_SCT_IPS_NOT_IPS': "needs SNOMED CT's IPS free set, which no loaded package holds (SNOMED is external to careplan)",
    'ELEMENT_CANNOT_BE_NULL': "the reference's JSON reader keeps a null only for an element whose definition carries the tools extension json-nullable, and the rule fails only when that same definition lacks it; no R4 definition is json-nullable, so it cannot fire on R4 content",
    'Extension_EXT_Version_Internal': 'the reference never raises it: the `default` branch of a switch that already covers every value of XVerExtensionStatus',
    'FHIRPATH_CHOICE_NO_TYPE_SPECIFIER': "SQL-on-FHIR only: the reference emits it only when checking a ViewDefinition's paths (emitSQLonFHIRWarning), and careplan never meets a ViewDefinition instance (see VIEWDEFINITION_*)",
    'FHIRPATH_CHOICE_SPURIOUS_TYPE_SPECIFIER': 'SQL-on-FHIR only, as FHIRPATH_CHOICE_NO_TYPE_SPECIFIER',
    'FHIRPATH_HO_HOST_SERVICES': "raised only when the reference's engine runs without host services (no validator behind it); inside the validator they are always there, as careplan's hooks (conformsTo, memberOf, resolve) always are",
    'FHIRPATH_LOCATION': 'not a rule: the reference appends " (at {0})" to an engine message only when a caller has set a location (StructureMapValidator does, for a rule\'s source); the fixed wording ("(at", ")") is too short for the catalogue to tell it, and careplan\'s engine messages name where they are through the issue\'s expression',
    'FHIRPATH_NOT_IMPLEMENTED': 'raised only for functions the reference leaves unimplemented on one path (toTime()); careplan implements them, so there is nothing to refuse',
    'FHIRPATH_STRING_ORD_ONLY': 'the reference never raises it: every call of its string-context check asks for the singleton wording, so FHIRPATH_STRING_SING_ONLY is raised instead (careplan raises that one, in the static check and at run time)',
    'Internal_INT_Bad_Type': "an internal fallback for a fixed value of a type the reference's typed comparison has no case for; careplan compares fixed values of every type generically, so there is no unhandled type",
    'MEASURE_MR_GRP_CODE_MISMATCH': "R5 and later only: reached only through a MeasureReport group's linkId, which R4 does not have (as MEASURE_MR_GRP_UNK_LINKID)",
    'MEASURE_MR_GRP_POP_CODE_MISMATCH': "R5 and later only: reached only through a MeasureReport group population's linkId, which R4 does not have",
    'MEASURE_MR_GRP_STRAT_CODE_MISMATCH': "R5 and later only: reached only through a MeasureReport stratifier's linkId, which R4 does not have",
    'MSG_DEPENDS_ON_EXTENSION': 'a fragment ("extension", 9 characters), passed as an argument to the definition status messages (careplan passes "extension" in the same place, `definition_status(node, &sd, "extension")`); never a message of its own',
    'MSG_DEPENDS_ON_PROFILE': "a one-word fragment ('profile') that the reference puts inside MSG_DEPENDS_ON_DEPRECATED, _RETIRED and _WITHDRAWN, which careplan raises on type profiles (tests/structure_definition.rs)",
    'Not_done_yet_ValidatorHostServicesexecuteFunction': 'as Not_done_yet_ValidatorHostServicescheckFunction: an unimplemented stub',
    'Problem_evaluating_slicing_expression_for_element_in_profile__path__fhirPath___': "the reference compiles each slice's discriminators into a FHIRPath expression and reports its evaluation failure; careplan evaluates discriminators natively, so there is no slicing expression to fail (what it cannot evaluate is reported as the slicing being unchecked)",
    'Problem_processing_expression__in_profile__path__': "as above: a parse failure of the reference's generated slicing expression (or of an invariant's, reported by careplan under its own invariant keys)",
    'Profile_based_discriminators_must_have_a_type_with_a_profile__in_profile_': 'the reference never raises it: the throw is commented out ("we don\'t have to find something")',
    'REFERENCE_RESOLUTION_FAILED': 'raised when fetching an external reference throws; careplan never fetches references (offline by design)',
    'Reference_REF_CantMatchType': 'raised only for a reference target fetched from outside the resource under a policy that checks its type but not its validity; careplan fetches nothing (resolved targets are contained or in the Bundle, which the reference always checks for validity: REFERENCE_REF_CANTMATCHCHOICE, as careplan does)',
    'Reference_REF_NoType': 'raised when a resolved target has no type; careplan resolves only resources, which always have one',
    'Reference__refers_to_a__not_a_ValueSet': "raised by the reference's host services when a `#id` value set reference in a profile names a contained resource that is not a ValueSet, while evaluating memberOf() for an invariant; careplan's memberOf hook resolves value sets by canonical URL only",
    'SD_ELEMENT_PATTERN_WRONG_TYPE': 'the reference never raises it: it is checked only in the branch where the base element has no fixed value, right after the rule that it has one (SD_ELEMENT_PATTERN_NO_FIXED) failed, so its `ed.getFixed()` comparison is never reached',
    'SM_TARGET_TRANSLATE_BINDING_SOURCE_UNMAPPED': 'the reference never raises it: its condition (the source has a required binding) is the condition of the branch it sits in, so the warning always holds',
    'SNAPSHOT_EXISTING_PROBLEM': 'the reference never raises it as the validator runs: it needs `wantCheckSnapshotUnchanged`, which defaults to false and nothing in the reference sets (`setWantCheckSnapshotUnchanged` has no caller)',
    'TERMINOLOGY_TX_NO_OID_SERVICES': 'raised only in convertCDACodeToCodeableConcept / checkCDACoding (a CDA codeSystem OID); FHIR R4 Codings carry no bare OID attribute',
    'TERMINOLOGY_TX_OID_MULTIPLE_MATCHES': 'CDA codeSystem OIDs only (as TERMINOLOGY_TX_NO_OID_SERVICES)',
    'TERMINOLOGY_TX_OID_MULTIPLE_MATCHES_CHOSEN': 'CDA codeSystem OIDs only (as TERMINOLOGY_TX_NO_OID_SERVICES)',
    'TERMINOLOGY_TX_UNKNOWN_OID': 'CDA codeSystem OIDs only (as TERMINOLOGY_TX_NO_OID_SERVICES)',
    'TYPE_SPECIFIC_CHECKS_DT_ATT_NO_FETCHER': 'the reference formats it into a local variable (fetchError) that is never reported (InstanceValidator.checkAttachment)',
    'TYPE_SPECIFIC_CHECKS_DT_ATT_UNKNOWN_URL_SCHEME': 'as ATT_NO_FETCHER: formatted into fetchError, never reported',
    'TYPE_SPECIFIC_CHECKS_DT_ATT_URL_ERROR': 'as ATT_NO_FETCHER: formatted into fetchError, never reported',
    'Terminology_TX_Binding_CantCheck': 'its only calls are commented out in InstanceValidator',
    'Terminology_TX_Binding_Missing': 'guarded by hasBinding() just before: getBinding() is then never null, so the warning cannot fire',
    'Terminology_TX_Binding_Missing2': 'as Terminology_TX_Binding_Missing: the binding was tested present a line earlier',
    'Terminology_TX_NoValid_4': 'raised only in checkTerminologyCoding, for logical models whose types carry the CDA binding style (CD/CE/CV); never on FHIR R4 resources',
    'Terminology_TX_NoValid_5': 'as Terminology_TX_NoValid_4: CDA logical-model codings only',
    'Terminology_TX_NoValid_6': 'as Terminology_TX_NoValid_4: CDA logical-model codings only',
    'Terminology_TX_System_ValueSet': 'in checkCode, reached only after Terminology_TX_System_ValueSet2 (same test, isValueSet) has already stopped the check; the two differ only in version resolution rules',
    'VALIDATION_AI_FAILED': 'raised only when the reference consults an AI service about codes and texts; careplan has none',
    'VALIDATION_AI_FAILED_LOG': 'as VALIDATION_AI_FAILED',
    'VALIDATION_AI_TEXT_CODE': "as VALIDATION_AI_FAILED: the AI's judgement of a code against its text",
    'VALIDATION_VAL_PROFILE_SIGNPOST_BUNDLE_PARAM': 'raised only for `-bundle` rules (an option careplan does not have) and only with crumb trails (signposts) on',
    'VALIDATION_VAL_PROFILE_UNKNOWN_ERROR': 'raised when fetching an unknown profile from the web failed; careplan never fetches profiles while validating (it says Validation_VAL_Profile_Unknown, as the reference does without a fetcher)',
    'VALIDATION_VAL_PROFILE_UNKNOWN_ERROR_NETWORK': 'as VALIDATION_VAL_PROFILE_UNKNOWN_ERROR: a host that cannot be reached while fetching a profile',
    'VALIDATION_VAL_PROFILE_UNKNOWN_NOT_POLICY': 'raised when a fetcher is configured but its policy refuses to fetch the profile; careplan has no fetcher (Validation_VAL_Profile_Unknown applies)',
    'VALUESET_INC_NO_BATCH_ON_SERVER': "says a terminology server's version is older than 1.7.8; only a server's capability answer raises it",
    'VALUESET_TOO_COSTLY_TIME': "a time limit of the reference's expansion operation context; careplan's expansion is bounded differently and reports no timing",
    'VALUESET_TXVER_BATCH_NOT_SUPPORTED': "as VALUESET_INC_NO_BATCH_ON_SERVER: a server's version answer",
    'VIEWDEFINITION_COLLECTION_NEEDED1': 'careplan never meets a ViewDefinition: an instance whose resourceType is not a resource type of the loaded definitions stops at the reader (fatal "unknown or unrecognized resource name", Walk::resource), and a logical model (the SQL-on-FHIR ViewDefinition is one, from the org.sql-on-fhir.ig package, not among the packages careplan loads for R4) is not a resource type, so its instances are never walked, nor its rules run. Validating logical-model instances is a feature careplan does not have, not a rule family.',
    'VIEWDEFINITION_COLLECTION_NEEDED2': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_COLLECTION_NOT_ALWAYS': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_COLLECTION_NOT_NEEDED': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_COMPLEX_TYPE': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_DUPL_COL_NAME': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_NAME_INVALID': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_NAME_REQUIRED': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_NAME_REQUIRED_HINT': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_PATH_ERROR': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_PATH_WARNING': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_PATH_WRONG_RETURN': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_SHOULD_HAVE_NAME': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_TYPE_MISMATCH': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_UNABLE_TO_TYPE': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'VIEWDEFINITION_UNKNOWN_RESOURCE': 'as VIEWDEFINITION_COLLECTION_NEEDED1',
    'defined_in_the_profile': 'a fragment, not a message: the reference puts it only into the HTML rendering of the slicing hint (the message text itself uses the literal "defined in the profile", as careplan\'s This_element_does_not_match_any_known_slice_ and Validation_VAL_Profile_NotSlice do); alone it would never be an issue\'s text',
})

# Folded in from the rule-family work of 2026-12-06 (each reason read off the reference's source).
NOT_YET_WHY.update({
    'ABSTRACT_CODE_NOT_ALLOWED': 'only with the ValidationOptions noAbstract flag (set for some value set checks); not mapped yet',
    'BINDING_ADDITIONAL_D': 'the wording of an additional binding inside terminology messages: careplan does not read additional bindings (the tools extension in R4) yet',
    'BINDING_ADDITIONAL_UC': 'as BINDING_ADDITIONAL_D (an additional binding with a usage context)',
    'BINDING_ADDITIONAL_USAGE': 'as BINDING_ADDITIONAL_D',
    'BINDING_MAX': 'the wording of a max binding (elementdefinition-maxValueSet) inside terminology messages: careplan does not check max value sets yet',
    'CODESYSTEM_CS_SUPP_TOO_MANY_CODES': "needs the reference's codeSystemValidationSizeLimit setting (0 = no limit by default), so it does not fire by default",
    'CODESYSTEM_PROPERTY_BAD_PROPERTY_CODE': "property codes checked against a property's value set (codesystem-property-valueset extension); not read yet",
    'CODESYSTEM_SHAREABLE_EXTRA_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CODESYSTEM_SHAREABLE_EXTRA_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CODESYSTEM_SHAREABLE_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CODESYSTEM_SHAREABLE_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CODESYSTEM_THO_CHECK': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CODE_CASE_DIFFERENCE': 'case-insensitive systems: lookup already tolerates case; the information message is not said yet',
    'CONCEPTMAP_SHAREABLE_EXTRA_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CONCEPTMAP_SHAREABLE_EXTRA_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CONCEPTMAP_SHAREABLE_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CONCEPTMAP_SHAREABLE_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'CONCEPTMAP_VS_CONCEPT_CODE_UNKNOWN_SYSTEM': "ConceptMap codes whose system is unknown, against the map's value sets; the concept map rules do not look at unknown systems yet",
    'CONCEPTMAP_VS_CONCEPT_CODE_UNKNOWN_SYSTEM_VERSION': 'as CONCEPTMAP_VS_CONCEPT_CODE_UNKNOWN_SYSTEM',
    'CONCEPT_DEPRECATED_IN_VALUESET': "status of a concept's entry in the value set's compose (valueset-deprecated/status extension); not read yet",
    'Error_validating_code_running_without_terminology_services': 'the reference\'s no-server mode would warn on every SNOMED/LOINC/UCUM code; careplan says nothing of codes it cannot decide (by design: "unknown is never an error") — to be agreed with the lead',
    'Extension_EXTM_Context_Wrong_VER': 'raised when a context carries the version-specific-use extension and none applies; careplan reads version-specific use on the definition (EXTENSION_FHIR_VERSION_EARLIEST/LATEST) but not on each context yet',
    'FHIRPATH_UNKNOWN_TYPE': "raised when a definition names a type that has no StructureDefinition; careplan's static check treats such a type as unknown (nothing after it is judged) rather than reporting it, to never guess an error",
    'IG_DEPENDENCY_CLASH_CANONICAL': "needs the package cache's list of package ids and canonicals (`getPackageId`/`getPackageUrl`, which also asks the registry); careplan's validator reads no package metadata (its context holds definitions by URL only). Doable with an index of loaded packages' package.json in the context",
    'IG_DEPENDENCY_CLASH_PACKAGEID': 'as IG_DEPENDENCY_CLASH_CANONICAL',
    'IG_DEPENDENCY_NO_PACKAGE': 'as IG_DEPENDENCY_CLASH_CANONICAL (when no packageId is given the reference asks the cache and registry for one)',
    'IG_DEPENDENCY_PACKAGE_UNKNOWN': 'as IG_DEPENDENCY_CLASH_CANONICAL (the reference loads, and if need be downloads, the package named)',
    'IG_DEPENDENCY_VERSION_ERROR': "as IG_DEPENDENCY_CLASH_CANONICAL (needs the dependency package's FHIR version)",
    'IG_DEPENDENCY_VERSION_WARNING': 'as IG_DEPENDENCY_CLASH_CANONICAL',
    'IG_DEPENDENCY_VERSION_WARNING_OLD': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'INVALID_DISPLAY_NAME': 'displayLanguage parameter of $validate-code; careplan has no display-language option yet',
    'MEASURE_SHAREABLE_EXTRA_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'MEASURE_SHAREABLE_EXTRA_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'MEASURE_SHAREABLE_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'MEASURE_SHAREABLE_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'MSG_DEPRECATED': 'as MSG_DRAFT',
    'MSG_DRAFT': "status of the code system/value set used, relative to the source value set (ValueSetProcessBase.checkCanonical); seen 11 times on the shared cases; needs the source value set's status threaded into membership",
    'MSG_EXPERIMENTAL': 'as MSG_DRAFT',
    'MSG_RETIRED': 'as MSG_DRAFT',
    'MSG_WITHDRAWN': 'as MSG_DRAFT',
    'MustSupport_VAL_MustSupport': "raised only with the reference's -hintAboutNonMustSupport option (every element used that the profile does not mark mustSupport); careplan has no such option yet",
    'NARRATIVE_NOT_TRANSLATED': 'LanguageUtils (narrative translation for a requested language); no language option yet',
    'NO_CODE_PROVIDED': "$validate-code without a code: an operation's input check, not an instance's; careplan's server $validate-code could say it",
    'NO_CODE_PROVIDED_VERSION': 'as NO_CODE_PROVIDED',
    'Not_done_yet_ValidatorHostServicescheckFunction': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Not_done_yet_ValidatorHostServicesconformsToProfile_when_item_is_not_an_element': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Not_done_yet__resolve__locally_2': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'PROFILE_COMPLIES_WITH_BAD_ELEMENT': 'valueAlternatives (an R5 ElementDefinition element, carried in R4 by an extension) not compared yet',
    'PROFILE_COMPLIES_WITH_NO_VS_EXP': 'value sets of the two profiles that differ are not expanded and compared yet (only found or not)',
    'PROFILE_COMPLIES_WITH_NO_VS_NO': 'as PROFILE_COMPLIES_WITH_NO_VS_EXP',
    'PROFILE_COMPLIES_WITH_SLICING_EXTRA_SLICE': 'slices of the two profiles are not matched by their discriminator values yet',
    'PROFILE_COMPLIES_WITH_SLICING_NO_EXPAND': 'as PROFILE_COMPLIES_WITH_SLICING_EXTRA_SLICE',
    'PROFILE_COMPLIES_WITH_SLICING_NO_SLICE': 'as PROFILE_COMPLIES_WITH_SLICING_EXTRA_SLICE',
    'PROFILE_COMPLIES_WITH_SLICING_NO_VALUE': 'as PROFILE_COMPLIES_WITH_SLICING_EXTRA_SLICE',
    'RESOURCE_INTERNAL_USE_ONLY': 'packages marked not-for-use (package.json) are not recorded by the loader yet',
    'RESOURCE_MATCHETYPE_DISALLOWED': "depends on the reference's matchetype status setting (disallowed/required), which careplan does not have",
    'RESOURCE_MATCHETYPE_REQUIRED': 'as RESOURCE_MATCHETYPE_DISALLOWED',
    'RESOURCE_MATCHETYPE_SUSPECT_TYPE': 'the matchetype pattern values ($string$, $date$ ...) are not checked by careplan yet',
    'RESOURCE_MATCHETYPE_UNKNOWN_PATTERN': 'as RESOURCE_MATCHETYPE_SUSPECT_TYPE',
    'Resource_RES_ID_Prohibited': "raised when the element's id policy forbids an id (the reference's IdStatus.PROHIBITED, set by its caller, e.g. for a create); careplan has no such setting yet",
    'Resource_resolution_services_not_provided': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'SD_CONTEXT_SHOULD_ELEMENT_NOT_FOUND_VER': 'raised only when an extension context names several FHIR versions (the cross-version context extension); not done in the time',
    'SD_DERIVATION_NO_CONCRETE': "needs every loaded StructureDefinition's baseDefinition; careplan's context indexes definitions by URL only, and reading all of them for each abstract definition costs too much; an index of base definitions in the context would do it",
    'SD_EXTENSION_COMPLIES_WITH_ERROR': "needs the reference's comparison of an extension definition against a claimed one (ProfileComparer-like); not done in the time",
    'SD_EXTENSION_COMPLIES_WITH_WARNING': 'as SD_EXTENSION_COMPLIES_WITH_ERROR',
    'SD_PATH_ERROR': 'as SD_PATH_NOT_VALID',
    'SD_PATH_NOT_VALID': "needs FHIRPath type checking of a discriminator path over the sliced element's types (the reference's checkOnTypes); careplan's engine evaluates over instances only. Not done in the time",
    'TERMINOLOGY_TX_NOSVC_BOUND_EXT': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'TERMINOLOGY_TX_NOSVC_BOUND_REQ': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'TYPE_SPECIFIC_CHECKS_DT_PRIMITIVE_REGEX_EXCEPTION': 'as Primitive_Regex_Type (a type regex that cannot be evaluated)',
    'Terminology_TX_Binding_NoServer': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_Binding_NoSource': "a binding with no value set: hint, except for code; needs a check that the message is wanted on R4 core's valueSet-less bindings (noise)",
    'Terminology_TX_Code_ValueSetMax': 'maxValueSet extension (elementdefinition-maxValueSet) not read yet; NoValid_7..11 are the same family',
    'Terminology_TX_Coding_Count': 'fixed/pattern CodeableConcepts are compared generically in slicing.rs; the coding-count wording needs that comparison split by datatype',
    'Terminology_TX_Confirm_1_CC': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_Confirm_2_CC': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_Confirm_3_CC': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_Error_CodeableConcept': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_Error_CodeableConcept_Max': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_Error_Coding1': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_Error_Coding2': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_NoValid_10': 'maxValueSet binding checks not implemented yet',
    'Terminology_TX_NoValid_11': 'maxValueSet binding checks not implemented yet',
    'Terminology_TX_NoValid_15': "raised from a terminology server's failure (no service, exception text, infrastructure error class); careplan's `--tx` mode reports a server's failures in its own words",
    'Terminology_TX_NoValid_7': 'maxValueSet binding checks not implemented yet',
    'Terminology_TX_NoValid_8': 'maxValueSet binding checks not implemented yet',
    'Terminology_TX_NoValid_9': 'maxValueSet binding checks not implemented yet',
    'Type_Specific_Checks_DT_Primitive_Regex_Type': "the type's own regex (R4's X.value regex), checked where the lexical rules pass; careplan's primitive.rs rules decide lexical form, and a table of R4's type regexes (Java syntax) is still to be written and measured against the R4 examples",
    'UNABLE_TO_RESOLVE_SYSTEM_SYSTEM_IS_INDETERMINATE': 'as above (grammar-based systems)',
    'Unable_to_resolve_system__value_set_has_include_with_filter': 'the reference\'s reasons for not finding a bare code\'s system; careplan says the first sentence only ("The System URI could not be determined ...")',
    'Unable_to_resolve_system__value_set_has_include_with_no_system': 'as above',
    'Unable_to_resolve_system__value_set_has_include_with_unknown_system': 'as above',
    'Unable_to_resolve_system__value_set_has_multiple_matches': 'as above',
    'Unable_to_resolve_system__value_set_has_no_includes_or_expansion': 'as above',
    'Unsupported_fixed_value_type_for_discriminator_for_slice__': "the fixed-value counterpart of Unsupported_fixed_pattern_type_for_discriminator_for_slice__ (implemented): which fixed types the reference's expression builder refuses was not checked in the time",
    'VALIDATION_MAX_MESSAGES_EXCEEDED': "raised when the reference's -max-messages limit is passed; careplan's issue list has its own bound and says so in its own words (`IssueList`), and has no such option",
    'VALUESET_BAD_FILTER_VALUE_CODED_INVALID': 'as VALUESET_BAD_FILTER_VALUE_CANT_CHECK',
    'VALUESET_BAD_FILTER_VALUE_VALID_CODE_INACTIVE': 'as VALUESET_BAD_FILTER_VALUE_CANT_CHECK',
    'VALUESET_EXPANSION_PROPERTY_NO_DEFN': 'R5 expansion.property definitions: check whether R4 content can carry it (extension) before implementing',
    'VALUESET_SHAREABLE_EXTRA_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'VALUESET_SHAREABLE_EXTRA_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'VALUESET_SHAREABLE_MISSING': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
    'VALUESET_SHAREABLE_MISSING_HL7': "raised only in the reference's for-publication mode; careplan has `--for-publication` now, but this check is not built yet",
})

# Folded in from the rule-family work of the second session of 2026-12-06.
BY_DESIGN.update({
    'ABSTRACT_CODE_NOT_ALLOWED': "the checker's noAbstract option is set only by the reference's terminology-server test helper (TxServiceTestHelper); instance validation never sets it, and careplan's $validate-code takes no abstract parameter",
    'BUNDLE_SIGNATURE_DIGSIG_SIGNED_INVALID': "the reference raises it when decoding `SignedBytes` from base64 throws, but it decodes with commons' lenient decoder, which skips characters outside the alphabet and never throws; careplan reads base64 the same lenient way (`decode_lenient`), so there is no input on which it fires",
    'INVALID_DISPLAY_NAME': "thrown by the reference's ValueSetValidator for a displayLanguage parameter its language parser rejects (a $validate-code request parameter); careplan's $validate-code takes no displayLanguage",
    'NARRATIVE_NOT_TRANSLATED': 'raised by LanguageUtils for the IG Publisher (Source.Publisher, "IG" path) when generating translated narratives, not by instance validation',
    'Not_done_yet_ValidatorHostServicescheckFunction': "a Java Error thrown when the FHIRPath checker meets a function no host service knows; careplan's checker reports unknown functions with its own FHIRPath keys, never an internal failure",
    'Not_done_yet_ValidatorHostServicesconformsToProfile_when_item_is_not_an_element': "a Java NotImplementedException for conformsTo() on a non-Element item; careplan's conformsTo() hook works on its own tree items and answers empty for system values",
    'Not_done_yet__resolve__locally_2': "a Java Error thrown from the reference's FHIRPath host services when resolve() has no fetcher; careplan's FHIRPath resolve() is the validator's own hook (Bundle and contained), there is no host without it, and an internal error is never an issue",
    'RESOURCE_INTERNAL_USE_ONLY': 'the reference reads the RESOURCE_INTERNAL_USE_ONLY mark (StructureDefinitionValidator, ValueSetValidator) but nothing in its source sets it (UserDataNames declares it; no loader or package reader marks a resource), so it never fires; R4 packages carry no such flag either',
    'RESOURCE_MATCHETYPE_REQUIRED': "needs the reference's matchetype status `Required`, which nothing in the reference sets: `setMatchetypeStatus` has no caller and no command-line option, and the status defaults to `Disallowed` (careplan raises RESOURCE_MATCHETYPE_DISALLOWED accordingly)",
    'Resource_resolution_services_not_provided': "a Java FHIRException when reference checking asks for a fetcher the host did not provide; careplan always resolves in its Bundle/contained index and says unresolvable references with the reference's hint keys",
    'Terminology_TX_Error_CodeableConcept': "the text of a Java exception (CheckCodeOnServerException) caught around the server call; careplan's server failures are answers (Confirm_*_CC, NoValid_7/9 with the server's words), never exceptions",
    'Terminology_TX_Error_CodeableConcept_Max': 'as Terminology_TX_Error_CodeableConcept, for the max value set call',
    'Terminology_TX_Error_Coding1': 'as Terminology_TX_Error_CodeableConcept, for a Coding',
    'Terminology_TX_Error_Coding2': "as Terminology_TX_Error_CodeableConcept (a Java exception's toString)",
    'UNABLE_TO_RESOLVE_SYSTEM_SYSTEM_IS_INDETERMINATE': "raised when a built-in CodeSystemProvider answers 'cannot tell'; the reference's only provider (color-rgb) always answers true or false, so it is never said",
    'Unable_to_resolve_system__value_set_has_include_with_filter': "the reference's only raise is commented out (ValueSetValidator.scanForCodeInValueSetInclude): never said",
    'Unable_to_resolve_system__value_set_has_include_with_unknown_system': 'raised only under EXPAND_AFTER_VALIDATION_WHEN_INFERRING, a constant false in the reference (marked for removal)',
    'VALUESET_EXPANSION_PROPERTY_NO_DEFN': "the reference gathers the properties from expansion.contains.property (and subProperty) children, which R4's ValueSet does not have (R5 elements; an R4 extension is not read as such a child), so on R4 content the set is empty and the rule never fires",
})

# Folded in from the rule-family work of the second session of 2026-12-06.
NOT_YET_WHY.update({
    'Attempt_to_replace_element_name_for_a_nonchoice_type': 'Turtle reader only; careplan reads JSON and XML, it has no Turtle reader (the stretch goal was not reached)',
    'CODESYSTEM_CS_UNK_EXPANSION': "needs the expansion-only path distinguished in membership (an Undecided reason for 'code system of an expansion-only value set not found') and its wording at the binding; not started in the time",
    'Code_found_in_expansion_however_': "needs the checker against a value set's stated expansion with per-code messages; careplan reads expansions as code lists only",
    'EXTENSION_EXTM_CONTEXT_WRONG_XVER': "cross-version extensions (the reference's XVer manager builds their definitions); careplan does not check cross-version extensions (it says so as information)",
    'EXTENSION_EXTP_CONTEXT_WRONG_XVER': 'as EXTENSION_EXTM_CONTEXT_WRONG_XVER',
    'EXTENSION_EXT_VERSION_NOTALLOWED': "as Extension_EXT_Version_Invalid (the reference's old cross-version manager never answers NotAllowed; the new one reads the hl7.fhir.uv.xver packages)",
    'Error_parsing_Turtle_': 'Turtle reader only (no Turtle reader in careplan)',
    'Extension_EXT_Version_Invalid': "needs the reference's cross-version path tables (`xver-paths-<v>.json`, binaries of the validator's own packages), which no package careplan loads holds; careplan says a cross-version extension is not checked (information)",
    'Extension_EXT_Version_InvalidId': 'as Extension_EXT_Version_Invalid',
    'Extension_EXT_Version_NoChange': 'as Extension_EXT_Version_Invalid',
    'FHIRPATH_DISCRIMINATOR_CANT_FIND': 'the reference\'s discriminator resolution over definitions (evaluateDefinition), reached when it sorts repetitions into slices; careplan\'s slicing (validator/slicing.rs) resolves discriminators its own way and reports one it cannot follow as "unchecked" information; telling the resolution failures apart step by step was not done in this session',
    'FHIRPATH_DISCRIMINATOR_CANT_FIND_EXTENSION': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_DISCRIMINATOR_NAME_ALREADY_SLICED': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_DISCRIMINATOR_NOTYPE': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_DISCRIMINATOR_NO_CODE': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_DISCRIMINATOR_RESOLVE_NOT_REFERENCE': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_DISCRIMINATOR_RESOLVE_NO_TYPE': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_DISCRIMINATOR_TYPE_NONE': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_NO_TYPE': "raised when a definition gives an element an empty type; careplan's static check treats such an element as unknown (nothing after it is judged)",
    'FHIRPATH_REDEFINE_VARIABLE': "needs defineVariable(), which careplan's FHIRPath engine does not implement (FHIRPath 3.0 STU, not used by R4 definitions)",
    'FHIRPATH_RESOLVE_DISCRIMINATOR_CANT_FIND': 'as FHIRPATH_DISCRIMINATOR_CANT_FIND',
    'FHIRPATH_UNKNOWN_CONTEXT_ELEMENT': "raised when a check starts from an element path with no definition; careplan's checks start from types (invariants from the element's own types, search expressions from bases, discriminator paths only where the element is its type's own), so the path form does not arise yet",
    'Found__items_for__resolving_discriminator__from_': 'as No_reference_resolving_discriminator__from_',
    'NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR': "needs a display-language option (the reference's -language; displays are judged for en-US only, DEFAULT_LANGUAGE in src/terminology.rs): with it, display_issue would look for designations in the requested language and say this when none exists and the display is not the default one; not started for time",
    'NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK': "as NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR (the information when the display is the default language's)",
    'No_reference_resolving_discriminator__from_': "raised while the reference resolves a discriminator path through resolve() with its own element lookup; careplan follows resolve() natively and reports an unevaluable path as the slicing being unchecked: aligning needs the reference's path-by-path failure reasons",
    'SD_TYPE_ADDITIONAL_UNCHECKABLE': 'needs the registry of approved additional resources (fetched by the reference); careplan fetches nothing while validating',
    'SNAPSHOT_IS_EMPTY': 'a type profile whose snapshot has no elements: careplan generates snapshots (a definition it cannot use is reported when loaded); whether an empty snapshot can reach the walk was not checked in the time',
    'STATUS_CODE_WARNING_CODE': "raised by the reference's ValueSetValidator (its own $validate-code) for a concept that is not active in a value set checked with activeOnly; careplan's local expansion has no activeOnly/inactive filter yet (commented out in InstanceValidator)",
    'SYSTEM_VERSION_MULTIPLE_DEFAULT': "expansion parameters (system-version) are not applied in careplan's expansion yet",
    'SYSTEM_VERSION_MULTIPLE_OVERRIDE': 'as SYSTEM_VERSION_MULTIPLE_DEFAULT',
    'Slice_encountered_midway_through_set_path___id___': "a malformed snapshot (a second slicing on the same path inside a slice group); careplan's compiled snapshots were not checked against the reference's condition in the time",
    'TERMINOLOGY_TX_HINT': "a server's informational message on a successful $validate-code passed through ({1} only); careplan's TxServer reads only `result`; passing `message` through is left for later",
    'TERMINOLOGY_TX_SYSTEM_UNSUPPORTED': "needs the reference's ValueSetUtilities.isServerSide systems list and the server's support information (TxSupportInfo.reason); careplan has no such list",
    'TERMINOLOGY_TX_WARNING': 'as TERMINOLOGY_TX_HINT (a warning message)',
    'TX_GENERAL_CC_ERROR_MESSAGE': "the checker's CodeableConcept summary; careplan's CodeableConcept message is Terminology_TX_NoValid_*_CC and the reference's instance validator words it so too; where the summary itself reaches an instance was not traced",
    'TYPE_SPECIFIC_CHECKS_DT_CANONICAL_MULTIPLE_POSSIBLE_VERSIONS': 'as TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE (raised on a resolved canonical without a version when the fetcher lists several versions; Context::versions gives the loaded ones, the resolution before it is missing)',
    'TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE': 'the reference resolves external uri/url/canonical values through its fetcher (StandAloneValidatorFetcher.resolveURL: known name spaces, SIDs, OIDs, RFC and mapping URIs, then the base URL of the package that owns the URL in the package cache, loading that package, and the registries), with an outcome that depends on the element (exempt and "hintable" paths), the reference policy and whether examples are allowed; careplan now has the package catalogue (src/package/catalogue.rs, Context::package_catalogue) this needs, but the resolution rules themselves (findBaseUrl, isKnownSpace, isDefinitionURL, the exempt-path lists) are not written yet, and a partial version would raise errors on R4 content the reference accepts',
    'TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE_NC': 'as TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE (a canonical the fetcher finds but cannot load)',
    'TYPE_SPECIFIC_CHECKS_DT_PRIMITIVE_REGEX_TYPE_ALT': "the element's date-format extension (elementdefinition-dateformat) and the reference's conversion of a value to that external format (convertForDateFormatToExternal) are not read yet; the type regex itself is checked (Type_Specific_Checks_DT_Primitive_Regex_Type)",
    'TYPE_SPECIFIC_CHECKS_DT_SID_INCORRECT': "as TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE (needs the reference's SID tables, checked on resolved URLs)",
    'TYPE_SPECIFIC_CHECKS_DT_URL_EXAMPLE': 'as TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE (raised only for an example URL the resolution did not find)',
    'TYPE_SPECIFIC_CHECKS_DT_URL_WRONG_HTTPS': 'as TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE (an https: URL that does not resolve while its http: form does)',
    'Terminology_PassThrough_TX_Message': "a server's message passed through for a Coding with no binding checked on the server; careplan asks the server only about value sets ($validate-code with url), not code systems alone",
    'Terminology_TX_Confirm_6': "a preferred-binding Coding with a non-infrastructure server error class (e.g. VALUESET_UNKNOWN from the server's OperationOutcome); careplan's TxServer classes every failure as SERVER_ERROR (a connection error, an HTTP error status, an answer without result), which the reference routes to NoValid_12/13/14; reading the server's error class from its issues is left for later",
    'This_property_must_be_a_Literal_not_': 'Turtle reader only (no Turtle reader in careplan)',
    'This_property_must_be_a_URI_or_bnode_not_': 'Turtle reader only (no Turtle reader in careplan)',
    'Type_Specific_Checks_DT_URL_Resolve': 'as TYPE_SPECIFIC_CHECKS_DT_CANONICAL_RESOLVE',
    'UNABLE_TO_CHECK_IF_THE_PROVIDED_CODES_ARE_IN_THE_VALUE_SET_': "careplan keeps 'cannot tell' silent (Membership::Unknown); saying it needs Undecided carried to the binding and agreement on the severity",
    'UNABLE_TO_CHECK_IF_THE_PROVIDED_CODES_ARE_IN_THE_VALUE_SET_CS': 'as UNABLE_TO_CHECK_IF_THE_PROVIDED_CODES_ARE_IN_THE_VALUE_SET_',
    'UNABLE_TO_CHECK_IF_THE_PROVIDED_CODES_ARE_IN_THE_VALUE_SET_VS': 'as UNABLE_TO_CHECK_IF_THE_PROVIDED_CODES_ARE_IN_THE_VALUE_SET_',
    'UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE': 'as Unable_to_handle_system__concept_filter_with_op__ (and definition::Filter requires a value, so such a value set does not load today)',
    'UNABLE_TO_HANDLE_SYSTEM__PROPERTY_FILTER_WITH_OP__': 'as Unable_to_handle_system__concept_filter_with_op__',
    'UNKNOWN_CODESYSTEM_EXP': "expansion-time messages: careplan's expansion (expand_uncached) has no issue channel yet",
    'UNKNOWN_CODESYSTEM_VERSION': "a versioned include of a loaded system whose version is absent: careplan judges against the loaded version (lenient); needs the include's version carried into membership",
    'UNKNOWN_CODESYSTEM_VERSION_EXP': 'expansion-time, as UNKNOWN_CODESYSTEM_EXP',
    'UNKNOWN_CODESYSTEM_VERSION_EXP_NONE': 'expansion-time, as UNKNOWN_CODESYSTEM_EXP',
    'UNKNOWN_CODESYSTEM_VERSION_UNK': "raised when the server answers CODESYSTEM_UNSUPPORTED(_VERSION) for a required Coding with a version; careplan's TxServer does not read error classes from the server's answer (see Terminology_TX_Confirm_6)",
    'Unable_to_find__resolving_discriminator__from_': 'as No_reference_resolving_discriminator__from_',
    'Unable_to_find_profile__at_': 'a content reference `profile#id` whose profile is missing (an exception in the reference); careplan reads content references only within the definition (`#id`), where Unable_to_find_element_with_id_ applies',
    'Unable_to_find_resource__at__resolving_discriminator__from_': 'as No_reference_resolving_discriminator__from_',
    'Unable_to_handle_system__concept_filter_with_op__': 'filters careplan cannot evaluate make an expansion open (silent); the reason is not carried yet (filter_matches answers false)',
    'Unable_to_handle_system__filter_with_property__': 'as Unable_to_handle_system__concept_filter_with_op__',
    'Unable_to_resolve_': "an exception of the reference's conformsTo() host service for an unknown profile; careplan's conformsTo hook answers false instead of stopping",
    'Unable_to_resolve_actual_type_': "an exception when a type's definition is missing while reading children; careplan reports the same case as Validation_VAL_NoType",
    'Unable_to_resolve_element__in_profile_': "a discriminator path naming an element id the profile lacks; careplan's discriminator reading does not distinguish this from paths it does not follow (both leave the slicing unchecked), so reporting it as an error risks false errors",
    'Unable_to_resolve_slice_matching__no_fixed_value_or_required_value_set': "raised when the reference matches a slice by a child's value without a fixed value or required binding; careplan matches such slices by full validation of the slice instead",
    'Unable_to_resolve_slice_matching__slice_matching_by_value_set_not_done': 'as above, for a required binding',
    'Unable_to_resolve_value_Set_': "the checker's own value set lookup; careplan's binding says Terminology_TX_ValueSet_NotFound for the same case, as the reference's instance validator does first",
    'Unexpected_datatype_for_rdfstype': 'Turtle reader only (no Turtle reader in careplan)',
    'Unknown_resource_type_missing_rdfstype': 'Turtle reader only (no Turtle reader in careplan)',
    'Unrecognised_predicate_': 'Turtle reader only (no Turtle reader in careplan)',
    'VALIDATION_ADDITIONAL_RESOURCE_ABSENT': "additional resources (specializations with the additional-resource extension) and `resourceDefinition`: careplan reads a root's resourceDefinition only to check it is known",
    'VALIDATION_ADDITIONAL_RESOURCE_NO': 'as VALIDATION_ADDITIONAL_RESOURCE_ABSENT',
    'VALIDATION_ADDITIONAL_RESOURCE_NO_WRONG': 'as VALIDATION_ADDITIONAL_RESOURCE_ABSENT',
    'VALIDATION_ADDITIONAL_RESOURCE_WRONG': 'as VALIDATION_ADDITIONAL_RESOURCE_ABSENT',
    'VALIDATION_TIMEOUT_EXCEEDED': "raised when the reference's validation timeout passes; careplan has no timeout option (its costly checks have budgets of steps instead)",
    'VALIDATION_VAL_NAMED_EXTENSIONS_BAD_CONTEXT': 'the tools extension style "named-elements" (additional resources and logical models); careplan does not read it yet',
    'VALIDATION_VAL_NAMED_EXTENSIONS_BAD_TYPE': 'as VALIDATION_VAL_NAMED_EXTENSIONS_BAD_CONTEXT',
    'VALIDATION_VAL_NAMED_EXTENSIONS_NOT_FOUND': 'as VALIDATION_VAL_NAMED_EXTENSIONS_BAD_CONTEXT',
    'VALIDATION_VAL_NAMED_EXTENSIONS_NO_CONTEXT': 'as VALIDATION_VAL_NAMED_EXTENSIONS_BAD_CONTEXT',
    'VALUESET_BAD_FILTER_VALUE_CANT_CHECK': "only for filters whose rules are 'active': SNOMED CT's constraint (ECL) filter, checked by sending a value set to a terminology server; careplan holds no SNOMED CT and its --tx asks only $validate-code",
    'VALUESET_BAD_FILTER_VALUE_INVALID': 'as VALUESET_BAD_FILTER_VALUE_CANT_CHECK',
    'VALUESET_BAD_FILTER_VALUE_VALID_CODE_CHANGE': "only LOINC's part-property filters (LoincChecker marks them 'change'), whose values are checked against LOINC, which careplan cannot hold offline",
    'VALUESET_CIRCULAR_REFERENCE': "careplan stops a cycle of imports silently (expand_uncached); the reference raises it as a processing exception whose route to an instance's issues was not traced in the time",
    'VALUESET_CONCEPT_DISPLAY_SCT_TAG_MIXED': 'SNOMED CT FSN semantic tags in includes (SnomedCTChecker) need SNOMED CT',
    'VALUESET_EXAMPLE_SYSTEM_ERROR': "only when example URLs are not allowed (a validator setting careplan has no flag for); careplan follows the reference's default (VALUESET_EXAMPLE_SYSTEM_HINT)",
    'VALUESET_INC_NO_SERVER': 'in ValueSet resources (ValueSetValidator include checks) under -tx n/a: belongs to the value_set.rs rules; the `--tx n/a` mode (Terminology::without_service) exists now, but the ValueSet rule module does not reach the Terminology (it checks includes from the context); left for the ValueSet owner',
    'VALUESET_TOO_COSTLY': 'expansion-time, as UNKNOWN_CODESYSTEM_EXP',
    'VALUESET_UNC_SYSTEM_WARNING': "the reference's current run says UNKNOWN_CODESYSTEM (information) for this case, which careplan does; the warning needs the server's CODESYSTEM_UNSUPPORTED class",
    'VALUESET_UNC_SYSTEM_WARNING_VER': 'as VALUESET_UNC_SYSTEM_WARNING',
    'VALUESET_VALUE_MISMATCH': 'code system version of an include against the one in the value: include versions are not carried into membership yet',
    'VALUESET_VALUE_MISMATCH_CHANGED': 'as VALUESET_VALUE_MISMATCH',
    'VALUESET_VALUE_MISMATCH_DEFAULT': 'as VALUESET_VALUE_MISMATCH',
    'VALUESET_VERSION_CHECK': 'check-system-version parameter: expansion parameters are not applied yet',
    'VS_EXP_FILTER_UNK': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_CS': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_CS_PINNED': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_CS_PINNED_X': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_CS_X': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_ERROR': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_ERROR_X': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_FAIL': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_FAIL_X': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_NULL': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_NULL_X': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_UNK': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_UNK_PINNED': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_UNK_PINNED_X': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'VS_EXP_IMPORT_UNK_X': "expansion-time (ValueSetExpander): careplan's expansion has no issue channel yet",
    'Validation_VAL_Content_Unknown': "an element with no definition in the reference's walk; careplan reports such elements as unknown properties while reading children",
    'Validation_VAL_Profile_NoDefinition': "no definition for the resource's type: careplan's readers stop earlier with This_does_not_appear_to_be_a_FHIR_resource_unknown_name_ (as the reference's readers do for JSON and XML)",
    'Validation_VAL_Profile_NoSnapshot': 'as SNAPSHOT_IS_EMPTY',
    'Wrong_type_for_resource': 'Turtle reader only (no Turtle reader in careplan)',
    'reference_to__cannot_be_resolved': 'Turtle reader only (no Turtle reader in careplan)',
})

# Keys whose wording another key shares, where careplan raises only the other.
SHARED_WORDING = {}

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
