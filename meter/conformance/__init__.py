"""The MDMS conformance kit: scenarios of real meters' quirks, delivered on purpose, and a grader
that scores what an MDMS made of them against the truth (docs/conformance.md).

Modules: `truth` (a scenario's ground truth from the meter's own engine), `quirks` (each quirk a
pure function over a day's truth), `scenarios` (the named, seeded scenarios), `delivery`
(writes a scenario's folder), `nem12` (the same sends as NEM12), `mdms_output` (reads an
MDMS's validated readings), `grader` (the checks) and `scorecard` (table, JSON, HTML).
"""
