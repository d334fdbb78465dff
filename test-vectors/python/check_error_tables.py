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


def main() -> int:
    failures: list[str] = []
    used: dict[str, set[str]] = {}
    tables: dict[str, tuple[list[str], str]] = {}
    files = sorted(VECTORS.glob("*.json"))
    if not files:
        failures.append(f"no vector files in {VECTORS}")
    for path in files:
        family = path.stem
        crate = FAMILY_CRATE.get(family)
        if crate is None:
            failures.append(
                f"{path.name}: unknown family '{family}': add it to FAMILY_CRATE in {Path(__file__).name}"
                " with the crate whose SPEC.md holds its error tables"
            )
            continue
        if crate not in tables:
            spec = ROOT / crate / "SPEC.md"
            section = errors_section(spec)
            if not section:
                failures.append(f"{crate}/SPEC.md has no Errors section")
            tables[crate] = (table_names(section), "\n".join(section))
            used.setdefault(crate, set())
        names, text = tables[crate]
        found: set[str] = set()
        strings: set[str] = set()
        collect(json.loads(path.read_text(encoding="utf-8")), found, strings)
        for name in sorted(found):
            for part in parts(name):
                used[crate].add(part)
                if part not in names:
                    failures.append(f"{path.name}: error name '{part}' (from '{name}') is not in {crate}/SPEC.md's error tables")
        for string in sorted(strings):
            if f"`{string}`" not in text:
                failures.append(f"{path.name}: invalidField '{string}' is not in {crate}/SPEC.md's Errors section")
        print(f"{path.name}: {len(found)} error names, {len(strings)} invalidField strings -> {crate}/SPEC.md")
    for crate, (names, _) in sorted(tables.items()):
        unused = [name for name in names if name not in used[crate]]
        print(f"{crate}/SPEC.md: {len(names)} table names, {len(names) - len(unused)} used by vectors")
        if unused:
            print(f"  not yet covered by a vector: {', '.join(unused)}")
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print("every error name in the vectors is in its SPEC's error tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
