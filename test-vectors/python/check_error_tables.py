#!/usr/bin/env python3
"""Every error name a vector file uses is in its crate's SPEC error tables (stdlib only).

Reads every vector file in test-vectors/vectors, maps its family (the file name without `.json`) to the SPEC of
the crate it tests, collects every error name it uses, and fails if one is missing from that SPEC's error tables.
The names collected: the values of fields named `error`, `failingStep`, `refusedBy` and `failure` (the inner
name of a nested error: kt-verify's `ProofFailure` inside `Rejected`, `BlobNameError` inside `Name`), of any field
whose name ends in `Error`, and of `invalidField` (DecodeError::InvalidField's string). A nested name such as
`Protocol(WrongPurpose)` is checked part by part.

The error tables are the rows `| `Name` | ...` of the SPEC's Errors section (a heading whose title is `Errors`,
e.g. `## 12. Errors`, up to the next heading of the same or a higher level): the names are the backticked
identifiers of the row's first cell. An `invalidField` string must appear backticked (`` `user id` ``) anywhere
in that section.

The other direction: every table name must be used by some vector, unless its row says why no vector can
produce it. Such a row carries `no vector:` and the reason in a cell after the first, e.g.
`| `Store` | any store operation | the store failed (no vector: the store's own I/O failure; no input causes it) |`.
A name marked so that a vector does use is a failure too (remove the mark). With `--report-only` the names no
vector uses are printed without failing (for work in progress).

Then a self-test: made-up vectors with a missing name, nested part, failingStep, refusedBy, `*Error` field,
invalidField string and an unknown family, and a table name neither used nor marked, must each be caught.

    python3 test-vectors/python/check_error_tables.py
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "test-vectors" / "vectors"

# family (vector file name without .json) -> crate whose SPEC.md holds its error tables
FAMILY_CRATE = {
    "recovery_key": "backup-protocol",
    "backup_key_wrap": "backup-protocol",
    "backup_stream": "backup-protocol",
    "vault_messages": "backup-protocol",
    "opaque_messages": "backup-protocol",
    "fleet_bundle": "fleet-bundle",
    "ipls_sealing": "ipls",
    "ipls_escrow": "ipls",
    "witness_signature": "kt-verify",
    "security_code": "kt-verify",
    "kt_lookup": "kt-verify",
    "kt_history": "kt-verify",
    "kt_audit": "kt-verify",
    "vault_commands": "vault-core",
    "vault_replica": "vault-core",
}

# (family, test group type) -> crate whose SPEC.md holds that group's error names instead of the family's crate:
# ipls_escrow's EscrowIdentityReject sessions are refused by vault-core's identity check (its IdentityError), and
# its VaultEscrow tests are commands a vault-core vault answers or refuses (its VaultError).
GROUP_CRATE = {
    ("ipls_escrow", "EscrowIdentityReject"): "vault-core",
    ("ipls_escrow", "VaultEscrow"): "vault-core",
}

NAME_FIELDS = {"error", "failingStep", "refusedBy", "failure"}
STRING_FIELDS = {"invalidField"}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NESTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\(.*\))?$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
NO_VECTOR = re.compile(r"\bno vector:", re.IGNORECASE)


def errors_section(spec: Path) -> list[str]:
    """The lines of the SPEC's Errors section (empty if it has none)."""
    lines = spec.read_text(encoding="utf-8").splitlines()
    section: list[str] = []
    level = None
    in_code = False
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else HEADING.match(line)
        if heading:
            depth, title = len(heading.group(1)), heading.group(2)
            if level is not None and depth <= level:
                break
            if level is None and re.fullmatch(r"(\d+(\.\d+)*\.?\s+)?Errors\b.*", title):
                level = depth
                continue
        if level is not None:
            section.append(line)
    return section


def table_rows(section: list[str]) -> list[tuple[str, bool]]:
    """(name, marked `no vector:`) for the names in the first cell of every table row of the section, in order,
    without repeats. A name is marked if any of its rows carries the mark."""
    names: dict[str, bool] = {}
    for line in section:
        if not line.startswith("|"):
            continue
        cells = line.split("|")
        if len(cells) < 3:
            continue
        marked = any(NO_VECTOR.search(cell) for cell in cells[2:])
        for span in re.findall(r"`([^`]+)`", cells[1]):
            match = IDENT.match(span.strip())
            if match:
                names[match.group(0)] = names.get(match.group(0), False) or marked
    return list(names.items())


def coverage_failures(crate: str, rows: list[tuple[str, bool]], used: set[str]) -> list[str]:
    """Table names no vector uses and no `no vector:` reason excuses, and marked names a vector does use."""
    failures = []
    for name, marked in rows:
        if marked and name in used:
            failures.append(f"{crate}/SPEC.md: '{name}' is marked 'no vector:' but a vector uses it; remove the mark")
        elif not marked and name not in used:
            failures.append(
                f"{crate}/SPEC.md: '{name}' is used by no vector; add one, or say in its row why none can exist"
                " ('no vector: ...')"
            )
    return failures


def collect(value, names: set[str], strings: set[str]) -> None:
    """Error names and invalidField strings anywhere in a vector file."""
    if isinstance(value, dict):
        for key, item in value.items():
            wanted = key in NAME_FIELDS or key.endswith("Error")
            if key in STRING_FIELDS or wanted:
                items = item if isinstance(item, list) else [item]
                for text in items:
                    if isinstance(text, str):
                        (strings if key in STRING_FIELDS else names).add(text)
                    else:
                        collect(text, names, strings)
            else:
                collect(item, names, strings)
    elif isinstance(value, list):
        for item in value:
            collect(item, names, strings)


def parts(name: str) -> list[str]:
    """`Protocol(WrongPurpose)` -> [`Protocol`, `WrongPurpose`]; any other name is checked whole."""
    if NESTED.match(name):
        return IDENT.findall(name)
    return [name]


Tables = dict[str, tuple[list[tuple[str, bool]], str]]


def spec_tables(crate: str, tables: Tables, failures: list[str]) -> tuple[list[tuple[str, bool]], str]:
    """The table rows and the text of the crate's Errors section, read once."""
    if crate not in tables:
        section = errors_section(ROOT / crate / "SPEC.md")
        if not section:
            failures.append(f"{crate}/SPEC.md has no Errors section")
        tables[crate] = (table_rows(section), "\n".join(section))
    return tables[crate]


def check_file(
    file_name: str,
    data,
    tables: Tables,
    used: dict[str, set[str]],
) -> tuple[list[str], str]:
    """The failures of one vector file, and a line saying what was checked."""
    family = Path(file_name).stem
    crate = FAMILY_CRATE.get(family)
    if crate is None:
        return [
            f"{file_name}: unknown family '{family}': add it to FAMILY_CRATE in {Path(__file__).name}"
            " with the crate whose SPEC.md holds its error tables"
        ], f"{file_name}: unknown family"
    failures: list[str] = []
    parts_of = [(crate, data)]
    if isinstance(data, dict) and isinstance(data.get("testGroups"), list):
        kept = []
        for group in data["testGroups"]:
            other = GROUP_CRATE.get((family, group.get("type"))) if isinstance(group, dict) else None
            (parts_of.append((other, group)) if other else kept.append(group))
        parts_of[0] = (crate, dict(data, testGroups=kept))
    lines = []
    for part_crate, part_data in parts_of:
        rows, text = spec_tables(part_crate, tables, failures)
        names = {name for name, _ in rows}
        found: set[str] = set()
        strings: set[str] = set()
        collect(part_data, found, strings)
        for name in sorted(found):
            for part in parts(name):
                used.setdefault(part_crate, set()).add(part)
                if part not in names:
                    failures.append(
                        f"{file_name}: error name '{part}' (from '{name}') is not in {part_crate}/SPEC.md's error tables"
                    )
        for string in sorted(strings):
            if f"`{string}`" not in text:
                failures.append(f"{file_name}: invalidField '{string}' is not in {part_crate}/SPEC.md's Errors section")
        lines.append(f"{len(found)} error names, {len(strings)} invalidField strings -> {part_crate}/SPEC.md")
    return failures, f"{file_name}: {'; '.join(dict.fromkeys(lines))}"


def self_test(tables: Tables) -> list[str]:
    """The check must catch a missing name, a missing part of a nested name, a missing invalidField string, an
    unknown family, a table name no vector uses, and a marked name a vector uses."""
    cases = [
        ("vault_replica.json", {"tests": [{"error": "NoSuchErrorName"}]}),
        ("vault_replica.json", {"tests": [{"error": "Protocol(NoSuchErrorName)"}]}),
        ("opaque_messages.json", {"tests": [{"failingStep": "no_such_step"}]}),
        ("ipls_escrow.json", {"tests": [{"refusedBy": "nobody"}]}),
        ("ipls_escrow.json", {"testGroups": [{"type": "EscrowIdentityReject", "tests": [{"error": "Witness(NoSuchErrorName)"}]}]}),
        ("ipls_escrow.json", {"testGroups": [{"type": "EscrowReject", "tests": [{"error": "KeyMismatch"}]}]}),
        ("witness_signature.json", {"tests": [{"expectedError": "NoSuchErrorName"}]}),
        ("vault_commands.json", {"tests": [{"error": "InvalidField", "invalidField": "no such field"}]}),
        ("no_such_family.json", {"tests": []}),
    ]
    missed = []
    for file_name, data in cases:
        failures, _ = check_file(file_name, data, tables, {})
        if not failures:
            missed.append(f"self-test: {file_name} {json.dumps(data)} was not caught")
    section = ["| `Used` | a | b |", "| `Unused` | a | b |", "| `Excused` | a | b (no vector: c) |",
               "| `MarkedButUsed` | a | no vector: d |"]
    found = coverage_failures("self-test", table_rows(section), {"Used", "MarkedButUsed"})
    if len(found) != 2 or "'Unused'" not in found[0] or "'MarkedButUsed'" not in found[1]:
        missed.append(f"self-test: coverage check found {found}, expected 'Unused' and 'MarkedButUsed'")
    return missed


def main() -> int:
    report_only = "--report-only" in sys.argv[1:]
    failures: list[str] = []
    used: dict[str, set[str]] = {}
    tables: Tables = {}
    files = sorted(VECTORS.glob("*.json"))
    if not files:
        failures.append(f"no vector files in {VECTORS}")
    for path in files:
        found, line = check_file(path.name, json.loads(path.read_text(encoding="utf-8")), tables, used)
        failures.extend(found)
        print(line)
    for crate, (rows, _) in sorted(tables.items()):
        crate_used = used.get(crate, set())
        marked = sum(1 for _, mark in rows if mark)
        print(f"{crate}/SPEC.md: {len(rows)} table names, {sum(1 for n, _ in rows if n in crate_used)} used by"
              f" vectors, {marked} marked 'no vector:'")
        uncovered = coverage_failures(crate, rows, crate_used)
        if report_only:
            for line in uncovered:
                print(f"  (report only) {line}")
        else:
            failures.extend(uncovered)
    missed = self_test(tables)
    failures.extend(missed)
    if not missed:
        print("self-test: a missing name, nested part, failingStep, refusedBy, *Error field and invalidField string,"
              " an unknown family, a table name no vector uses and a marked name a vector uses, are caught")
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print("every error name in the vectors is in its SPEC's error tables"
          + ("" if report_only else ", and every table name is used by a vector or says why none can exist"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
