#!/usr/bin/env python3
"""Validates the objects of rendered manifests (`kubectl kustomize DIR`, on
standard input) offline, and prints them as one JSON array for the tests.

- Kubernetes kinds: against the API schema of the release given with
  --kubernetes-version (default 1.37), strictly (unknown fields refused), from
  the schemas bundled with kubernetes-validate (PyPI);
- monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule: against
  schemas/monitoring.coreos.com-v1.yaml, a subset written for this project;
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


def operator_validators():
    path = pathlib.Path(__file__).resolve().parent / "schemas" / "monitoring.coreos.com-v1.yaml"
    document = yaml.safe_load(path.read_text())
    validators = {}
    for kind, schema in document["kinds"].items():
        schema = dict(schema, definitions=document["definitions"])
        jsonschema.Draft7Validator.check_schema(schema)
        validators[kind] = jsonschema.Draft7Validator(schema)
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
