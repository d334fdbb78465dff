#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the committed test vectors: every valid and refused encoding the vectors hold,
prefixed with the selector byte that routes it to its decoder in test-vectors/src/fuzz/ (the orders below mirror
those harnesses). File names are the SHA-1 of the content, as libFuzzer names its own. Run from anywhere; then
merge with libFuzzer (FUZZING.md) to keep the corpus minimal."""

import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "test-vectors" / "vectors"
CORPUS = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus"  # or the directory given
MAX_LEN = 4096  # libFuzzer's default -max_len: larger seeds would only be cut
LOG_MAX_LEN = 16384  # vault_sequence's logs (run.sh passes it as -max_len)


def tests(family, group=None):
    data = json.loads((VECTORS / f"{family}.json").read_text())
    for g in data["testGroups"]:
        if group is None or g["type"] == group:
            yield from g["tests"]


def put(target, data):
    if len(data) > (LOG_MAX_LEN if target == "vault_sequence" else MAX_LEN):
        return
    path = CORPUS / target
    path.mkdir(parents=True, exist_ok=True)
    (path / hashlib.sha1(data).hexdigest()).write_bytes(data)


def hexes(value):
    return value if isinstance(value, list) else [value]


def by_field(target, family, fields):
    for test in tests(family):
        for field, selector in fields.items():
            if isinstance(test.get(field), (str, list)):
                for value in hexes(test[field]):
                    try:
                        put(target, bytes([selector]) + bytes.fromhex(value))
                    except ValueError:
                        pass


# backup_messages: the order of backup.rs's match.
by_field("backup_messages", "vault_messages", {
    "registrationRequest": 0, "registrationResponse": 1, "registrationUpload": 2, "registrationReceipt": 3,
    "loginRequest": 4, "loginResponse": 5, "loginFinalization": 6, "keyRelease": 7, "deletionReceipt": 8,
    "pendingRegistration": 9, "record": 10, "vaultLoginState": 11, "vaultKeys": 12})
for test in tests("recovery_key"):
    for field in ("recoveryKey", "input"):
        if isinstance(test.get(field), str):
            put("backup_messages", bytes([13]) + test[field].encode())

# backup_stream: control 0x20 (a given file, 17-byte chunks), 0x21 / 0x07 (a plaintext, cut 16 / 3 bytes).
for test in tests("backup_stream"):
    if "file" in test:
        put("backup_stream", b"\x20" + bytes.fromhex(test["file"]))
    if "plaintext" in test:
        put("backup_stream", b"\x21" + bytes.fromhex(test["plaintext"]))
        put("backup_stream", b"\x07" + bytes.fromhex(test["plaintext"]))

# ipls_messages: ipls.rs's order.
IPLS = {"hello": 0, "challenge": 1, "auth": 2, "reply": 3, "identityProof": 4}
for test in tests("ipls_escrow", "EscrowDecode"):
    put("ipls_messages", bytes([IPLS[test["messageType"]]]) + bytes.fromhex(test["message"]))
by_field("ipls_messages", "ipls_escrow", {"hello": 0, "challengeMessage": 1, "auth": 2, "reply": 3,
                                          "identityProof": 4})
by_field("ipls_messages", "ipls_sealing", {"sealed": 6})

# vault_messages: vault.rs's order.
by_field("vault_messages", "vault_commands", {"command": 0, "response": 1, "principal": 2})
for group, selector in (("CommandReject", 0), ("ResponseReject", 1), ("PrincipalReject", 2)):
    for test in tests("vault_commands", group):
        if isinstance(test.get("message"), str):
            put("vault_messages", bytes([selector]) + bytes.fromhex(test["message"]))
by_field("vault_messages", "ipls_escrow", {"keyFile": 3})

# fleet-bundle.
by_field("fleet_bundle", "fleet_bundle", {"body": 0, "signedBundle": 1, "lastAccepted": 2})
by_field("fleet_bundle", "fleet_bundle", {"signedBundle": 3})
by_field("fleet_deployment", "fleet_bundle", {"body": 0, "signedRecord": 1})
for test in tests("fleet_bundle"):
    if isinstance(test.get("signedRecord"), str) and isinstance(test.get("artifact"), str):
        record = bytes.fromhex(test["signedRecord"])
        put("fleet_deployment", b"\x02" + len(record).to_bytes(2, "big") + record + bytes.fromhex(test["artifact"]))
for test in tests("fleet_bundle"):
    for field in ("artifact", "canonical", "artifacts"):
        if field in test:
            for value in hexes(test[field]):
                put("fleet_artifact", bytes.fromhex(value))

# kt-verify: the cases are the vectors' epoch-5 tests in file order (kt.rs).
for family in ("witness_signature", "ipls_escrow", "kt_audit"):
    for test in tests(family):
        if isinstance(test.get("signedRoot"), str):
            put("kt_witness", bytes.fromhex(test["signedRoot"]))
lookup_cases = [t["label"] for t in tests("kt_lookup", "KtLookup") if t["epoch"] == "5"]
for test in tests("kt_lookup"):
    if test.get("label") in lookup_cases:
        put("kt_lookup", bytes([lookup_cases.index(test["label"])]) + bytes.fromhex(test["proof"]))
history_cases = [(t["label"], t.get("mostRecent")) for t in tests("kt_history", "KtHistory") if t["epoch"] == "5"]
for test in tests("kt_history"):
    case = (test.get("label"), test.get("mostRecent"))
    if case in history_cases:
        put("kt_history", bytes([history_cases.index(case)]) + bytes.fromhex(test["proof"]))
audit_cases = [t["name"] for t in tests("kt_audit", "AuditChain")]
for test in tests("kt_audit"):
    if test.get("name") in audit_cases and isinstance(test.get("blob"), str):
        put("kt_audit", bytes([audit_cases.index(test["name"])]) + bytes.fromhex(test["blob"]))
    if isinstance(test.get("name"), str):
        put("kt_codes", b"\x00" + test["name"].encode())
for test in tests("security_code"):
    for field in ("qrPayload", "scannedPayload"):
        if isinstance(test.get(field), str):
            put("kt_codes", b"\x01" + bytes.fromhex(test[field]))

# kt_differential: selector bit 0 = history, the other bits the case (kt_differential.rs).
for test in tests("kt_lookup"):
    if test.get("label") in lookup_cases:
        put("kt_differential", bytes([lookup_cases.index(test["label"]) << 1]) + bytes.fromhex(test["proof"]))
for test in tests("kt_history"):
    case = (test.get("label"), test.get("mostRecent"))
    if case in history_cases:
        put("kt_differential", bytes([history_cases.index(case) << 1 | 1]) + bytes.fromhex(test["proof"]))

# vault_sequence: selector = the vault_replica group, then each command behind a 2-byte big-endian length: the whole
# group's log, or its longest prefix that fits (the fuzzer then mutates real exchanges in their order).
replica = json.loads((VECTORS / "vault_replica.json").read_text())
for index, group in enumerate(replica["testGroups"]):
    log = bytes([index])
    for test in group["tests"]:
        command = bytes.fromhex(test["command"])
        if len(log) + 2 + len(command) > LOG_MAX_LEN:
            break
        log += len(command).to_bytes(2, "big") + command
    put("vault_sequence", log)
