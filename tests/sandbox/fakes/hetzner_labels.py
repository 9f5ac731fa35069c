"""hetzner_labels.py: Hetzner's label rules and label selectors.

From the spec's "Labels" and "Label Selector" sections: a key is an
optional DNS-subdomain prefix and "/" and a name of at most 63
characters; a value is at most 63 characters and may be empty; the
prefix hetzner.cloud/ is reserved.  A selector is a comma-separated
AND of k==v, k=v, k!=v, k, !k, "k in (a,b)" and "k notin (a,b)".
"""

import re

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_KEY = r"[A-Za-z0-9][A-Za-z0-9_./-]*"
_VALUE = r"[A-Za-z0-9_.-]*"
_SET_TERM = re.compile(r"^(%s)\s+(in|notin)\s*\(([^()]*)\)$" % _KEY)
_CMP_TERM = re.compile(r"^(%s)\s*(==|!=|=)\s*(%s)$" % (_KEY, _VALUE))
_HAS_TERM = re.compile(r"^(!?)\s*(%s)$" % _KEY)


def key_problem(key):
    """Why key is not a valid label key, or None when it is."""
    if not isinstance(key, str):
        return "label key must be a string"
    prefix, slash, name = key.rpartition("/")
    if slash:
        if len(prefix) > 253 or not all(
                _DNS_LABEL.match(p) for p in prefix.split(".")):
            return "label key prefix '%s' is not a DNS subdomain" % prefix
        if prefix == "hetzner.cloud":
            return "label key prefix 'hetzner.cloud/' is reserved"
    if not _NAME.match(name):
        return "label key '%s' is invalid" % key
    return None


def value_problem(key, value):
    """Why value is not a valid label value, or None when it is."""
    if not isinstance(value, str):
        return "label value of '%s' must be a string" % key
    if value and not _NAME.match(value):
        return "label value '%s' of '%s' is invalid" % (value, key)
    return None


def label_problems(labels):
    """Every reason labels (a JSON value) is not a valid label set."""
    if not isinstance(labels, dict):
        return ["labels must be an object"]
    problems = []
    for key, value in labels.items():
        why = key_problem(key) or value_problem(key, value)
        if why:
            problems.append(why)
    return problems


def _split_terms(text):
    """Split a selector at the commas outside parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise ValueError("unbalanced parentheses")
    terms.append(cur)
    return [t.strip() for t in terms]


def _parse_term(term):
    """One selector term as (op, key, values); ValueError if bad."""
    match = _SET_TERM.match(term)
    if match:
        values = [v.strip() for v in match.group(3).split(",")]
        return match.group(2), match.group(1), values
    match = _CMP_TERM.match(term)
    if match:
        op = "!=" if match.group(2) == "!=" else "=="
        return op, match.group(1), [match.group(3)]
    match = _HAS_TERM.match(term)
    if match:
        return ("absent" if match.group(1) else "present",
                match.group(2), [])
    raise ValueError("invalid label selector term '%s'" % term)


def parse_selector(text):
    """A selector as a list of terms; [] (match all) when empty."""
    if not text.strip():
        return []
    return [_parse_term(t) for t in _split_terms(text)]


def _term_matches(op, key, values, labels):
    """Whether labels satisfy one term (a missing key is != anything)."""
    if op in ("present", "absent"):
        return (key in labels) == (op == "present")
    value = labels.get(key)
    if op == "==":
        return key in labels and value == values[0]
    if op == "!=":
        return value != values[0]
    if op == "in":
        return key in labels and value in values
    return value not in values


def selector_matches(terms, labels):
    """Whether labels satisfy every term of a parsed selector."""
    return all(_term_matches(op, key, values, labels)
               for op, key, values in terms)
