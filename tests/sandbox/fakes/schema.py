"""schema.py: check JSON values against the OpenAPI excerpt's schemas.

Only what the Hetzner excerpt uses (and the combinators a later
excerpt may add): type, nullable, required, properties, items,
additionalProperties, enum, format date-time, pattern, minimum,
maximum, anyOf, oneOf, allOf.  check() returns every problem found
as "where: what" strings, so one test run shows them all.
"""

import json
import re

_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                        r"(Z|[+-]\d\d:\d\d)$")
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
          "integer": int, "number": (int, float)}


def load_spec(path):
    """The OpenAPI document at path."""
    with open(path) as f:
        return json.load(f)


def response_schema(spec, path, method, status):
    """The response schema for path/method/status ("4xx" fallback)."""
    responses = spec["paths"][path][method.lower()]["responses"]
    key = str(status)
    if key not in responses:
        key = "%dxx" % (int(status) // 100)
    content = responses[key].get("content", {})
    return content.get("application/json", {}).get("schema")


def _type_ok(schema, value):
    """Whether value has the schema's JSON type (bool is no number)."""
    want = schema.get("type")
    if want is None:
        return True
    if isinstance(value, bool) and want != "boolean":
        return False
    return isinstance(value, _TYPES[want])


def _scalar_problems(schema, value, where):
    """Problems with enum, format, pattern and bounds."""
    out = []
    if "enum" in schema and value not in schema["enum"]:
        out.append("%s: %r not in %r" % (where, value, schema["enum"]))
    if isinstance(value, str):
        if schema.get("format") == "date-time" and not _DATE_TIME.match(
                value):
            out.append("%s: %r is not an RFC 3339 date-time"
                       % (where, value))
        if "pattern" in schema and not re.search(schema["pattern"],
                                                 value):
            out.append("%s: %r does not match %s"
                       % (where, value, schema["pattern"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append("%s: %r < %r" % (where, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            out.append("%s: %r > %r" % (where, value, schema["maximum"]))
    return out


def _combinator_problems(schema, value, where, removed):
    """Problems with anyOf, oneOf and allOf."""
    out = []
    for sub in schema.get("allOf", []):
        out += check(sub, value, where, removed)
    for key, wanted in (("anyOf", "at least one"), ("oneOf", "exactly one")):
        if key not in schema:
            continue
        hits = sum(not check(s, value, where, removed)
                   for s in schema[key])
        if hits == 0 or (key == "oneOf" and hits != 1):
            out.append("%s: %s of %s must match, %d do"
                       % (where, wanted, key, hits))
    return out


def _object_problems(schema, value, where, removed):
    """Problems with required keys, properties, additionalProperties."""
    out = []
    for key in schema.get("required", []):
        if key not in value and key not in removed:
            out.append("%s: required key %r is missing" % (where, key))
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = "%s.%s" % (where, key)
        if key in props:
            out += check(props[key], item, sub, removed)
        elif isinstance(extra, dict):
            out += check(extra, item, sub, removed)
    return out


def check(schema, value, where="$", removed=()):
    """Every way value breaks schema, as a list of strings.

    removed names properties the API has since dropped (Hetzner's
    "datacenter"): they are not required, and must not be present.
    """
    if schema is None:
        return []
    if value is None:
        ok = schema.get("nullable") or schema.get("type") is None
        return [] if ok else ["%s: null but not nullable" % where]
    if not _type_ok(schema, value):
        return ["%s: %r is not of type %s"
                % (where, value, schema.get("type"))]
    out = _scalar_problems(schema, value, where)
    out += _combinator_problems(schema, value, where, removed)
    if isinstance(value, dict):
        out += _object_problems(schema, value, where, removed)
        out += ["%s: removed key %r is present" % (where, k)
                for k in removed if k in value]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += check(schema["items"], item, "%s[%d]" % (where, i),
                         removed)
    return out
