#!/usr/bin/env python3
"""Compares schemas/monitoring.coreos.com-v1.yaml with the Prometheus Operator's
published CRDs, and checks the rendered Operator objects against those CRDs.

    python3 deploy/kubernetes/compare_crds.py CRD_DIR

CRD_DIR holds the Operator's CustomResourceDefinitions of the release to
compare with, as YAML or JSON (the files monitoring.coreos.com_servicemonitors
.yaml and monitoring.coreos.com_prometheusrules.yaml of the Operator's
example/prometheus-operator-crd/, or its jsonnet *-crd.json): nothing here
downloads them, nor does CI run this. Needs PyYAML, jsonschema and, for the
second part, kubectl with kustomize v5 and kubernetes-validate (validate.py is
imported), as in .ci/venv.

1. The subset against the published openAPIV3Schema of version v1 of each
   kind: every property of the subset must exist there, with the same type,
   format, enum, pattern, bounds, default, required keys and list-map keys.
   The subset may be stricter only where DELIBERATE says why; refusing
   unknown fields (additionalProperties: false) where the API server prunes
   them is the subset's purpose and is not reported.
2. Every ServiceMonitor and PrometheusRule that `kubectl kustomize` renders
   from the base and each overlay: valid against the published schema, and
   no field that the published schema does not have (the API server would
   silently prune it).

Prints one line per finding; exit status 1 if any.
"""

import argparse
import pathlib
import re
import subprocess
import sys

import jsonschema
import yaml

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import validate  # noqa: E402  (the list-map check and the subset's loader)

GROUP = "monitoring.coreos.com"
VERSION = "v1"

# Where the subset is stricter than the published schema, on purpose:
# (kind or "*", path, keyword or "*") -> why.
DELIBERATE = {
    ("*", "metadata", "*"):
        "ObjectMeta: the CRD schema leaves it to the API server, which checks "
        "the name (a DNS subdomain), labels and annotations of every object",
    ("*", "apiVersion", "const"): "the subset is looked up by apiVersion and kind",
    ("*", "kind", "const"): "the subset is looked up by apiVersion and kind",
    ("*", "", "required"):
        "apiVersion, kind and metadata: the API server takes no object without them",
    ("PrometheusRule", "spec.groups[].rules[]", "oneOf"):
        "Prometheus refuses a rule that both records and alerts, or neither "
        "(so does the Operator's admission webhook, with Prometheus's rule parser)",
}

# Compared for equality wherever either side has them.
KEYWORDS = ("type", "format", "enum", "const", "pattern", "default", "minimum",
            "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
            "maxLength", "minItems", "maxItems", "uniqueItems", "minProperties",
            "maxProperties", "nullable", "x-kubernetes-list-map-keys",
            "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations")
# Only in the subset, as a JSON Schema cannot say what the CRD says otherwise.
STRICTER_ONLY = ("oneOf", "allOf", "not", "if", "then", "else", "dependencies")


def python_pattern(pattern):
    """Go's regexp takes flags anywhere, Python's only first: `^(?i)x` is `(?i)^x`."""
    match = re.match(r"^\^(\(\?[a-zA-Z]+\))", pattern)
    return match.group(1) + "^" + pattern[match.end():] if match else pattern


def strip(node):
    """The schema without descriptions, with patterns Python can compile."""
    if isinstance(node, dict):
        out = {k: strip(v) for k, v in node.items() if k != "description"}
        if isinstance(out.get("pattern"), str):
            out["pattern"] = python_pattern(out["pattern"])
            re.compile(out["pattern"])
        return out
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def published(crd_dir):
    """{kind: (openAPIV3Schema, operator version)} of the CRDs in crd_dir."""
    found = {}
    for path in sorted(pathlib.Path(crd_dir).iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            if spec.get("group") != GROUP:
                continue
            for version in spec["versions"]:
                if version["name"] == VERSION:
                    annotations = doc["metadata"].get("annotations", {})
                    found[spec["names"]["kind"]] = (
                        strip(version["schema"]["openAPIV3Schema"]),
                        annotations.get("operator.prometheus.io/version", "unknown"),
                    )
    return found


class Subset:
    def __init__(self):
        path = HERE / "schemas" / "monitoring.coreos.com-v1.yaml"
        self.document = yaml.safe_load(path.read_text())

    def resolve(self, node):
        """The definition a $ref names (Draft 7 ignores whatever stands beside it)."""
        while isinstance(node, dict) and "$ref" in node:
            if len(node) > 1:
                raise jsonschema.SchemaError(f"keywords beside $ref, which ignores them: {node}")
            node = self.document["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        return node


def deliberate(kind, path, keyword):
    for (k, p, w), why in DELIBERATE.items():
        if k in ("*", kind) and w in ("*", keyword) and (path == p or path.startswith(p + ".")
                                                         or path.startswith(p + "[")):
            return why
    return None


def compare(kind, subset, ours, theirs, path, findings):
    ours = subset.resolve(ours)
    if deliberate(kind, path, "*"):
        return

    def finding(keyword, text, stricter):
        if not (stricter and deliberate(kind, path, keyword)):
            findings.append(f"{kind} {path or '(root)'}: {keyword}: {text}")

    for keyword in KEYWORDS:
        a, b = ours.get(keyword), theirs.get(keyword)
        if a == b:
            continue
        if keyword == "type" and a is None and "const" in ours:
            continue  # the const fixes the type
        if b is None:
            finding(keyword, f"{a!r} here, none published (stricter)", True)
        elif a is None:
            finding(keyword, f"none here, {b!r} published (looser)", False)
        else:
            finding(keyword, f"{a!r} here, {b!r} published", False)

    for keyword in ("anyOf",):
        a, b = ours.get(keyword), theirs.get(keyword)
        if a is not None or b is not None:
            a = [subset.resolve(x) for x in a] if a else a
            if a != b:
                finding(keyword, f"{a!r} here, {b!r} published", b is None)
    for keyword in STRICTER_ONLY:
        if keyword in ours and keyword not in theirs:
            finding(keyword, "only here (stricter)", True)
        elif keyword in theirs and ours.get(keyword) != theirs[keyword]:
            finding(keyword, f"{ours.get(keyword)!r} here, {theirs[keyword]!r} published", False)

    a, b = set(ours.get("required", [])), set(theirs.get("required", []))
    if a - b:
        finding("required", f"{sorted(a - b)} required here only (stricter)", True)
    if b - a:
        finding("required", f"{sorted(b - a)} required by the published schema only (looser)", False)

    if theirs.get("x-kubernetes-list-type") == "set" and not ours.get("uniqueItems"):
        finding("x-kubernetes-list-type", "a set published, items not unique here (looser)", False)

    mine, known = ours.get("properties", {}), theirs.get("properties", {})
    for name in mine:
        where = f"{path}.{name}" if path else name
        if name not in known:
            if not deliberate(kind, where, "*"):
                findings.append(f"{kind} {where}: not in the published schema")
            continue
        compare(kind, subset, mine[name], known[name], where, findings)

    a, b = ours.get("additionalProperties"), theirs.get("additionalProperties")
    if isinstance(a, dict):
        if isinstance(b, dict):
            compare(kind, subset, a, b, f"{path}.*", findings)
        elif not known:
            finding("additionalProperties", "a schema here, none published", False)
        else:
            findings.append(f"{kind} {path}: additionalProperties here, fixed properties published")
    elif a is None and isinstance(b, dict):
        finding("additionalProperties", f"none here, {b!r} published (looser)", False)
    # a is False, b absent: refused here, pruned there; the subset's purpose.

    if "items" in ours or "items" in theirs:
        if "items" in ours and "items" in theirs:
            compare(kind, subset, ours["items"], theirs["items"], f"{path}[]", findings)
        else:
            finding("items", f"{ours.get('items')!r} here, {theirs.get('items')!r} published", False)


def unknown_fields(obj, schema, path, out):
    """Fields of obj that the structural schema does not have (pruned on create)."""
    if isinstance(obj, dict) and schema.get("type") == "object":
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in obj.items():
            where = f"{path}.{key}" if path else key
            if key in properties:
                unknown_fields(value, properties[key], where, out)
            elif isinstance(extra, dict):
                unknown_fields(value, extra, where, out)
            elif extra is not True:
                out.append(where)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(obj):
            unknown_fields(item, schema["items"], f"{path}[{i}]", out)


def rendered(kubectl):
    dirs = [HERE / "base"] + sorted(p for p in (HERE / "overlays").iterdir() if p.is_dir())
    for directory in dirs:
        out = subprocess.run([kubectl, "kustomize", str(directory)], check=True,
                             capture_output=True, text=True).stdout
        for obj in yaml.safe_load_all(out):
            if obj and obj.get("apiVersion") == f"{GROUP}/{VERSION}":
                yield directory.relative_to(HERE), obj


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crd_dir")
    parser.add_argument("--kubectl", default="kubectl")
    args = parser.parse_args()
    crds = published(args.crd_dir)
    subset = Subset()
    findings = []

    for kind, ours in subset.document["kinds"].items():
        if kind not in crds:
            findings.append(f"{kind}: no {GROUP}/{VERSION} CRD of this kind in {args.crd_dir}")
            continue
        schema, version = crds[kind]
        print(f"{kind}: the subset against the CRD of Operator {version}")
        compare(kind, subset, ours, schema, "", findings)

    checked = 0
    for directory, obj in rendered(args.kubectl):
        kind = obj["kind"]
        where = f"{directory}: {kind}/{obj['metadata']['name']}"
        if kind not in crds:
            findings.append(f"{where}: no published CRD of this kind")
            continue
        schema = crds[kind][0]
        checked += 1
        for error in validate.Validator(schema).iter_errors(obj):
            findings.append(f"{where}: {'.'.join(map(str, error.absolute_path))}: {error.message}")
        extra = []
        unknown_fields({k: v for k, v in obj.items() if k != "metadata"}, schema, "", extra)
        findings.extend(f"{where}: {field}: not in the published schema (pruned)" for field in extra)
    print(f"{checked} rendered objects checked against the published CRDs")

    for line in findings:
        print(line)
    return 1 if findings or not checked else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (subprocess.CalledProcessError, jsonschema.SchemaError, re.error) as e:
        print(e, file=sys.stderr)
        sys.exit(2)
