#!/usr/bin/env python3
"""Validates the objects of rendered manifests (`kubectl kustomize DIR`, on
standard input) offline, and prints them as one JSON array for the tests.

- Kubernetes kinds: against the API schema of the release given with
  --kubernetes-version (default 1.37), strictly (unknown fields refused), from
  the schemas bundled with kubernetes-validate (PyPI);
- monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule: against
  schemas/monitoring.coreos.com-v1.yaml, a subset written for this project
  (compare_crds.py compares it with the Operator's published CRDs);
- anything else: refused, since nothing here could check it.

Exit status 1 with one line per problem.
"""

import argparse
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

OPERATOR = "monitoring.coreos.com/v1"


def _list_map_keys(validator, keys, instance, schema):
    """x-kubernetes-list-map-keys: the API server refuses two items of the list
    with the same keys (a PrometheusRule's groups of one name)."""
    if not validator.is_type(instance, "array"):
        return
    seen = {}
    for index, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        key = tuple(json.dumps(item.get(k), sort_keys=True) for k in keys)
        if key in seen:
            yield jsonschema.ValidationError(
                f"items {seen[key]} and {index} have the same {', '.join(keys)} "
                f"({', '.join(key)}), which this list-type map refuses")
        seen.setdefault(key, index)


# Draft 7 plus the one Kubernetes extension that refuses objects.
Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"x-kubernetes-list-map-keys": _list_map_keys})


def operator_validators():
    path = pathlib.Path(__file__).resolve().parent / "schemas" / "monitoring.coreos.com-v1.yaml"
    document = yaml.safe_load(path.read_text())
    validators = {}
    for kind, schema in document["kinds"].items():
        schema = dict(schema, definitions=document["definitions"])
        Validator.check_schema(schema)
        validators[kind] = Validator(schema)
    return validators


def problems(obj, version, operator):
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if obj.get("apiVersion") == OPERATOR:
        validator = operator.get(obj.get("kind"))
        if validator is None:
            return [f"{where}: no {OPERATOR} schema for this kind"]
        return [f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{where}: {'.'.join(map(str, e.path))}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"{where}: {e}"]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", default="1.37")
    args = parser.parse_args()
    objects = [o for o in yaml.safe_load_all(sys.stdin) if o is not None]
    operator = operator_validators()
    found = [p for o in objects for p in problems(o, args.kubernetes_version, operator)]
    for problem in found:
        print(problem, file=sys.stderr)
    if not objects:
        print("no objects on standard input", file=sys.stderr)
        return 1
    if found:
        return 1
    json.dump(objects, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
