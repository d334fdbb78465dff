#!/usr/bin/env python3
"""Every error name a vector file uses is in its crate's SPEC error tables (stdlib only).

Reads every vector file in test-vectors/vectors, maps its family (the file name without `.json`) to the SPEC of
the crate it tests, collects every error name it uses, and fails if one is missing from that SPEC's error tables.
The names collected: the values of fields named `error`, `failingStep` and `refusedBy`, of any field whose name
ends in `Error`, and of `invalidField` (DecodeError::InvalidField's string). A nested name such as
`Protocol(WrongPurpose)` is checked part by part.

The error tables are the rows `| `Name` | ...` of the SPEC's Errors section (a heading whose title is `Errors`,
e.g. `## 12. Errors`, up to the next heading of the same or a higher level): the names are the backticked
identifiers of the row's first cell. An `invalidField` string must appear backticked (`` `user id` ``) anywhere
in that section.

Also prints, without failing, the table names no vector uses ("not yet covered by a vector").
Then a self-test: made-up vectors with a missing name, nested part, failingStep, refusedBy, `*Error` field,
invalidField string and an unknown family must each be caught.

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
# ipls_escrow's EscrowIdentityReject sessions are refused by vault-core's identity check (its IdentityError).
GROUP_CRATE = {
    ("ipls_escrow", "EscrowIdentityReject"): "vault-core",
}

NAME_FIELDS = {"error", "failingStep", "refusedBy"}
STRING_FIELDS = {"invalidField"}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NESTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\(.*\))?$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


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


def table_names(section: list[str]) -> list[str]:
    """Names in the first cell of every table row of the section, in order, without repeats."""
    names: list[str] = []
    for line in section:
        if not line.startswith("|"):
            continue
        cells = line.split("|")
        if len(cells) < 3:
            continue
        for span in re.findall(r"`([^`]+)`", cells[1]):
            match = IDENT.match(span.strip())
            if match and match.group(0) not in names:
                names.append(match.group(0))
    return names


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


def spec_tables(crate: str, tables: dict[str, tuple[list[str], str]], failures: list[str]) -> tuple[list[str], str]:
    """The table names and the text of the crate's Errors section, read once."""
    if crate not in tables:
        section = errors_section(ROOT / crate / "SPEC.md")
        if not section:
            failures.append(f"{crate}/SPEC.md has no Errors section")
        tables[crate] = (table_names(section), "\n".join(section))
    return tables[crate]


def check_file(
    file_name: str,
    data,
    tables: dict[str, tuple[list[str], str]],
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
        names, text = spec_tables(part_crate, tables, failures)
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


def self_test(tables: dict[str, tuple[list[str], str]]) -> list[str]:
    """The check must catch a missing name, a missing part of a nested name, a missing invalidField string and an
    unknown family."""
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
    return missed


def main() -> int:
    failures: list[str] = []
    used: dict[str, set[str]] = {}
    tables: dict[str, tuple[list[str], str]] = {}
    files = sorted(VECTORS.glob("*.json"))
    if not files:
        failures.append(f"no vector files in {VECTORS}")
    for path in files:
        found, line = check_file(path.name, json.loads(path.read_text(encoding="utf-8")), tables, used)
        failures.extend(found)
        print(line)
    for crate, (names, _) in sorted(tables.items()):
        unused = [name for name in names if name not in used.get(crate, set())]
        print(f"{crate}/SPEC.md: {len(names)} table names, {len(names) - len(unused)} used by vectors")
        if unused:
            print(f"  not yet covered by a vector: {', '.join(unused)}")
    missed = self_test(tables)
    failures.extend(missed)
    if not missed:
        print("self-test: a missing name, nested part, failingStep, refusedBy, *Error field and invalidField string,"
              " and an unknown family, are caught")
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print("every error name in the vectors is in its SPEC's error tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
