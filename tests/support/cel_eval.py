"""Evaluates a ValidatingAdmissionPolicy's CEL on sample objects, the way the API server does:
each variable in order (later ones see `variables.<earlier>`), then every validation.

Input (stdin, JSON): {"variables": [{"name", "expression"}], "validations": [expression],
"objects": [object], "requests": [request]} (`requests[i]` is the admission request that
carries `objects[i]`: operation, subResource, userInfo); optionally "oldObjects" (the objects as
they were, for UPDATE and DELETE; a DELETE's object is null). Output (stdout, JSON): one entry per object, true (admitted), false
(refused) or "error: ..." (an evaluation error, which the API server's failurePolicy: Fail would
turn into a refusal). Uses cel-python (PyPI `cel-python`).
"""
import json
import sys

import celpy
from celpy import celtypes


def main():
    doc = json.load(sys.stdin)
    env = celpy.Environment()
    programs = [(v["name"], env.program(env.compile(v["expression"]))) for v in doc["variables"]]
    checks = [env.program(env.compile(e)) for e in doc["validations"]]
    verdicts = []
    old_objects = doc.get("oldObjects") or [None] * len(doc["objects"])
    for obj, old, request in zip(doc["objects"], old_objects, doc["requests"], strict=True):
        activation = {"object": celpy.json_to_cel(obj), "request": celpy.json_to_cel(request)}
        if old is not None:
            activation["oldObject"] = celpy.json_to_cel(old)
        variables = celtypes.MapType({})
        activation["variables"] = variables
        verdict = True
        try:
            for name, program in programs:
                variables[celtypes.StringType(name)] = program.evaluate(activation)
            for program in checks:
                result = program.evaluate(activation)
                if not isinstance(result, celtypes.BoolType):
                    raise ValueError(f"not a bool: {result!r}")
                verdict = verdict and bool(result)
        except Exception as e:  # an evaluation error is reported, never taken as a verdict
            verdict = f"error: {e}"
        verdicts.append(verdict)
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
