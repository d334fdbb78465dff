#!/usr/bin/env python3
"""Independent consumer of the workspace's test vectors.

Re-derives every value it can from the specifications alone, with the `cryptography` package (HKDF-SHA256,
AES-256-GCM, Ed25519) and no code of this workspace; validates every file against its JSON Schema; checks that
every negative vector fails. Prints the number of vectors checked per file and exits non-zero on any
disagreement.

    python3 test-vectors/python/check_vectors.py              # check every file
    python3 test-vectors/python/check_vectors.py --self-test  # also prove that a flipped byte is caught

What it cannot re-derive: the OPAQUE (ristretto255) values inside the vault messages; for those it checks the
framing, lengths and the vault's Ed25519 signatures over them.
"""

import copy
import hashlib
import json
import sys
from pathlib import Path

import jsonschema
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT = Path(__file__).resolve().parent.parent
VERSION = 0x01


class Disagreement(Exception):
    """A vector that does not match the specification."""


def expect(condition, test, what):
    if not condition:
        raise Disagreement(f"tcId {test.get('tcId')}: {what}")


def b(test, field):
    return bytes.fromhex(test[field])


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def len8(data):
    return bytes([len(data)]) + data


def valid(test):
    return test["result"] == "valid"


# --- recovery key (backup-protocol SPEC section 9) -----------------------------------------------------------

ASCII_WHITESPACE = " \t\n\x0c\r"
HEX = "0123456789abcdefABCDEF"


def parse_recovery_key(text):
    digits = []
    for position, character in enumerate(text):
        if character in ASCII_WHITESPACE or character == "-":
            continue
        if character not in HEX:
            return None, "InvalidCharacter"
        digits.append(character)
    if len(digits) != 64:
        return None, "WrongLength"
    return bytes.fromhex("".join(digits)), None


def check_recovery_key(group, test):
    if group["type"] == "RecoveryKeyFormat":
        digits = b(test, "key").hex()
        shown = " ".join(digits[i : i + 4] for i in range(0, 64, 4))
        expect(shown == test["recoveryKey"], test, "display form")
        expect(parse_recovery_key(shown)[0] == b(test, "key"), test, "display form does not parse back")
    else:
        key, error = parse_recovery_key(test["input"])
        if valid(test):
            expect(key == b(test, "key"), test, "parsed key")
        else:
            expect(error == test["error"], test, f"expected {test['error']}, got {error}")


# --- backup key wrap (backup-protocol SPEC section 6) --------------------------------------------------------

OPAQUE_K_INFO = b"backup-protocol/v1/opaque-k"
SHARED_K_INFO = b"backup-protocol/v1/shared-k"
WRAPPED_KEY_AAD = b"backup-protocol/v1/wrapped-k"
KEY_RELEASE_AAD = b"backup-protocol/v1/key-release"


def opens(key, nonce, sealed, aad):
    try:
        return AESGCM(key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        return None


def check_key_wrap(group, test):
    user_id = b(test, "userId")
    if group["type"] == "WrapK":
        opaque_k = hkdf(None, b(test, "exportKey"), OPAQUE_K_INFO, 32)
        aad = WRAPPED_KEY_AAD + bytes([VERSION]) + len8(user_id) + b(test, "challenge")
        opened = opens(opaque_k, b(test, "kNonce"), b(test, "ek"), aad)
        if not valid(test):
            expect(opened is None and test["error"] == "WrappedKeyRejected", test, "tampered EK opened")
            return
        expect(b(test, "opaqueKInfo") == OPAQUE_K_INFO, test, "opaqueKInfo")
        expect(b(test, "opaqueK") == opaque_k, test, "opaqueK")
        expect(b(test, "aad") == aad, test, "aad")
        expect(AESGCM(opaque_k).encrypt(b(test, "kNonce"), b(test, "key"), aad) == b(test, "ek"), test, "ek")
        expect(opened == b(test, "key"), test, "unwrap")
    else:
        shared_k = hkdf(None, b(test, "sessionKey"), SHARED_K_INFO, 32)
        aad = KEY_RELEASE_AAD + bytes([VERSION]) + len8(user_id)
        opened = opens(shared_k, b(test, "nonce"), b(test, "sealed"), aad)
        if not valid(test):
            expect(opened is None and test["error"] == "KeyReleaseRejected", test, "tampered release opened")
            return
        expect(b(test, "sharedKInfo") == SHARED_K_INFO, test, "sharedKInfo")
        expect(b(test, "sharedK") == shared_k, test, "sharedK")
        expect(b(test, "aad") == aad, test, "aad")
        expect(len(b(test, "plaintext")) == 92, test, "plaintext is challenge || K_NONCE || EK")
        expect(AESGCM(shared_k).encrypt(b(test, "nonce"), b(test, "plaintext"), aad) == b(test, "sealed"), test, "sealed")
        expect(opened == b(test, "plaintext"), test, "open")


# --- backup stream (backup-protocol SPEC section 8) ----------------------------------------------------------

SEGMENT = 65536
SEGMENT_CIPHERTEXT = SEGMENT + 16
FILE_KEY_INFO = b"backup-protocol/v1/stream-file-key"
NONCE_PREFIX_INFO = b"backup-protocol/v1/stream-nonce-prefix"


def stream_keys(key, salt):
    return hkdf(salt, key, FILE_KEY_INFO, 32), hkdf(salt, key, NONCE_PREFIX_INFO, 7)


def segment_nonce(prefix, index, last):
    return prefix + index.to_bytes(4, "big") + bytes([1 if last else 0])


def stream_encrypt(key, salt, plaintext):
    header = bytes([VERSION, 0x41]) + salt
    file_key, prefix = stream_keys(key, salt)
    chunks = [plaintext[i : i + SEGMENT] for i in range(0, len(plaintext), SEGMENT)] or [b""]
    out = header
    for index, chunk in enumerate(chunks):
        out += AESGCM(file_key).encrypt(segment_nonce(prefix, index, index == len(chunks) - 1), chunk, header)
    return out, len(chunks)


def stream_decrypt(key, file):
    """Returns (plaintext, None) or (None, error category)."""
    if len(file) < 34 or file[0] != VERSION or file[1] != 0x41:
        return None, "Header"
    header, body = file[:34], file[34:]
    file_key, prefix = stream_keys(key, header[2:])
    out, index = b"", 0
    while len(body) > SEGMENT_CIPHERTEXT:
        opened = opens(file_key, segment_nonce(prefix, index, False), body[:SEGMENT_CIPHERTEXT], header)
        if opened is None:
            return None, "SegmentRejected"
        out, body, index = out + opened, body[SEGMENT_CIPHERTEXT:], index + 1
    if len(body) < 16:
        return None, "Truncated"
    if len(body) == 16 and index > 0:
        return None, "SegmentRejected"
    opened = opens(file_key, segment_nonce(prefix, index, True), body, header)
    if opened is None:
        return None, "SegmentRejected"
    return out + opened, None


def check_stream(group, test):
    key, file = b(test, "key"), b(test, "file")
    plaintext, error = stream_decrypt(key, file)
    if not valid(test):
        expect(error == test["error"], test, f"expected {test['error']}, got {error}")
        return
    salt = b(test, "salt")
    file_key, prefix = stream_keys(key, salt)
    encrypted, segments = stream_encrypt(key, salt, b(test, "plaintext"))
    nonces = [segment_nonce(prefix, i, i == segments - 1).hex() for i in range(segments)]
    expect(b(test, "fileKeyInfo") == FILE_KEY_INFO and b(test, "noncePrefixInfo") == NONCE_PREFIX_INFO, test, "info")
    expect(b(test, "fileKey") == file_key and b(test, "noncePrefix") == prefix, test, "derived keys")
    expect(b(test, "header") == bytes([VERSION, 0x41]) + salt, test, "header")
    expect(test["segmentNonces"] == nonces, test, "segment nonces")
    expect(encrypted == file, test, "file")
    expect(plaintext == b(test, "plaintext"), test, "decryption")


# --- vault messages (backup-protocol SPEC sections 4 and 5) --------------------------------------------------

MESSAGE_TYPES = {
    "registrationRequest": (0x01, 32),
    "registrationResponse": (0x02, 160),
    "registrationUpload": (0x03, 296),
    "loginRequest": (0x11, 97),
    "loginResponse": (0x12, 396),
    "loginFinalization": (0x13, 64),
    "keyRelease": (0x14, 120),
}


def message_body(test, field):
    """The body of a framed message, or None if the framing is wrong."""
    message = b(test, field)
    type_code, body_len = MESSAGE_TYPES[field]
    user_id = b(test, "userId")
    if message[:3] != bytes([VERSION, type_code, len(user_id)]) or message[3 : 3 + len(user_id)] != user_id:
        return None
    body = message[3 + len(user_id) :]
    return body if len(body) == body_len else None


def ed25519_verifies(public_key, message, signature):
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except InvalidSignature:
        return False


def check_vault_messages(group, test):
    user_id = b(test, "userId")
    prefix = bytes([VERSION]) + len8(user_id)
    if group["type"] == "Registration":
        request, response = message_body(test, "registrationRequest"), message_body(test, "registrationResponse")
        if request is None or response is None:
            expect(not valid(test), test, "framing")
            return
        signed = b"backup-protocol/v1/registration-response" + prefix + response[:32] + request + response[32:96]
        signature = response[96:]
    else:
        request, response = message_body(test, "loginRequest"), message_body(test, "loginResponse")
        if request is None or response is None or request[0] not in (1, 2):
            expect(not valid(test), test, "framing")
            return
        signed = b"backup-protocol/v1/login-response" + prefix + request[:1] + request[1:] + response[:12] + response[12:332]
        signature = response[332:]
    verifies = ed25519_verifies(b(test, "fleetKey"), signed, signature)
    if not valid(test):
        expect(not verifies and test["error"] == "BadVaultSignature", test, "tampered message verifies")
        return
    expect(verifies, test, "signature")
    expect(b(test, "signedBytes") == signed and b(test, "signature") == signature, test, "signed bytes")
    if group["type"] == "Registration":
        expect(b(test, "challenge") == response[:32], test, "challenge")
        expect(b(test, "opaqueServerKey") == response[64:96], test, "OPAQUE server key")
        expect(message_body(test, "registrationUpload") is not None, test, "upload framing")
        expect(message_body(test, "registrationUpload")[-92:-60] == response[:32], test, "upload answers the challenge")
    else:
        expect(request[0] == test["purpose"], test, "purpose")
        expect(b(test, "ksfParams") == response[:12], test, "Argon2id parameters")
        expect(message_body(test, "loginFinalization") is not None, test, "finalization framing")
        expect(message_body(test, "keyRelease") is not None, test, "key release framing")


# --- fleet bundle (fleet-bundle SPEC) ------------------------------------------------------------------------

BUNDLE_WITNESS = b"fleet-bundle/v1/bundle/witness"
BUNDLE_OPERATOR = b"fleet-bundle/v1/bundle/operator"


def verify_bundle(test):
    """Returns None for an accepted bundle, else the first failing check's name, in the SPEC's order."""
    wire = b(test, "signedBundle")
    if len(wire) < 4 or wire[0] != VERSION or wire[1] != 0x02:
        return "Malformed"
    body_len = int.from_bytes(wire[2:4], "big")
    if len(wire) != 4 + body_len + 128:
        return "Malformed"
    body, witness_sig, operator_sig = wire[4 : 4 + body_len], wire[4 + body_len : -64], wire[-64:]
    fleet_id = body[3 : 3 + body[2]]
    if fleet_id != test["fleetId"].encode():
        return "UnknownFleet"
    if not ed25519_verifies(b(test, "witnessKey"), BUNDLE_WITNESS + body, witness_sig):
        return "BadWitnessSignature"
    if not ed25519_verifies(b(test, "operatorKey"), BUNDLE_OPERATOR + body + witness_sig, operator_sig):
        for other in (BUNDLE_OPERATOR + body, BUNDLE_WITNESS + body):
            if ed25519_verifies(b(test, "operatorKey"), other, operator_sig):
                return "CounterSignatureOverOtherBytes"
        return "BadCounterSignature"
    offset = 3 + len(fleet_id) + 8
    issued_at = int.from_bytes(body[offset : offset + 8], "big")
    expires_at = int.from_bytes(body[offset + 8 : offset + 16], "big")
    if test["now"] < issued_at:
        return "NotYetValid"
    if test["now"] >= expires_at:
        return "Expired"
    return None


DEPLOYMENT_WITNESS = b"fleet-bundle/v1/deployment/witness"
DEPLOYMENT_OPERATOR = b"fleet-bundle/v1/deployment/operator"


def verify_deployment(test):
    """Returns None for an accepted record, else the first failing check's name, in the SPEC's order (8.3)."""
    wire, artifact = b(test, "signedRecord"), b(test, "artifact")
    if len(wire) < 4 or wire[0] != VERSION or wire[1] != 0x04:
        return "Malformed"
    body_len = int.from_bytes(wire[2:4], "big")
    if len(wire) != 4 + body_len + 128:
        return "Malformed"
    body, witness_sig, operator_sig = wire[4 : 4 + body_len], wire[4 + body_len : -64], wire[-64:]
    if body[:2] != bytes([VERSION, 0x03]) or len(body) != 43 + body[2]:
        return "Malformed"
    if body[3 : 3 + body[2]] != test["fleetId"].encode():
        return "UnknownFleet"
    if not ed25519_verifies(b(test, "witnessKey"), DEPLOYMENT_WITNESS + body, witness_sig):
        return "BadWitnessSignature"
    if not ed25519_verifies(b(test, "operatorKey"), DEPLOYMENT_OPERATOR + body + witness_sig, operator_sig):
        return "BadCounterSignature"
    if hashlib.sha256(artifact).digest() != body[-32:]:
        return "DigestMismatch"
    document = json.loads(artifact)
    epoch = int.from_bytes(body[3 + body[2] : 11 + body[2]], "big")
    if document["fleet_id"] != test["fleetId"] or document["epoch"] != epoch:
        return "ArtifactMismatch"
    return None


def check_fleet_bundle(group, test):
    if group["type"] == "DeploymentRecord":
        outcome = verify_deployment(test)
        if not valid(test):
            expect(outcome == test["error"], test, f"expected {test['error']}, got {outcome}")
            return
        expect(outcome is None, test, f"valid record refused: {outcome}")
        body = b(test, "body")
        expect(b(test, "witnessSignedBytes") == DEPLOYMENT_WITNESS + body, test, "witness signed bytes")
        expect(b(test, "operatorSignedBytes") == DEPLOYMENT_OPERATOR + body + b(test, "witnessSignature"), test, "operator signed bytes")
        return
    outcome = verify_bundle(test)
    if not valid(test):
        expect(outcome == test["error"], test, f"expected {test['error']}, got {outcome}")
        return
    expect(outcome is None, test, f"valid bundle refused: {outcome}")
    body = b(test, "body")
    expect(b(test, "witnessSignedBytes") == BUNDLE_WITNESS + body, test, "witness signed bytes")
    expect(b(test, "operatorSignedBytes") == BUNDLE_OPERATOR + body + b(test, "witnessSignature"), test, "operator signed bytes")
    wire = bytes([VERSION, 0x02]) + len(body).to_bytes(2, "big") + body + b(test, "witnessSignature") + b(test, "operatorSignature")
    expect(b(test, "signedBundle") == wire, test, "envelope")


# --- IPLS contact sealing (ipls SPEC) ------------------------------------------------------------------------


def check_ipls_sealing(group, test):
    account, contact = b(test, "accountId"), b(test, "contactId")
    info = b"ipls/v1/contact-key" + len8(account)
    aad = b"ipls/v1/contact" + bytes([VERSION]) + len8(account) + len8(contact)
    account_key = hkdf(None, b(test, "contactKey"), info, 32)
    sealed = b(test, "sealed")
    framed = len(sealed) >= 30 and sealed[0] == VERSION and sealed[1] == 0x71
    opened = opens(account_key, sealed[2:14], sealed[14:], aad) if framed else None
    if not valid(test):
        expect(opened is None and test["error"] == "Rejected", test, "moved or altered record opened")
        return
    expect(b(test, "accountKeyInfo") == info and b(test, "aad") == aad, test, "info or aad")
    expect(b(test, "nonce") == sealed[2:14], test, "nonce")
    expect(opened == b(test, "record"), test, "record")
    resealed = bytes([VERSION, 0x71]) + b(test, "nonce") + AESGCM(account_key).encrypt(b(test, "nonce"), b(test, "record"), aad)
    expect(resealed == sealed, test, "sealed")


CHECKERS = {
    "recovery_key": (check_recovery_key, "key"),
    "backup_key_wrap": (check_key_wrap, "ek"),
    "backup_stream": (check_stream, "file"),
    "vault_messages": (check_vault_messages, "signature"),
    "fleet_bundle": (check_fleet_bundle, "signedBundle"),
    "ipls_sealing": (check_ipls_sealing, "sealed"),
}


def check_file(name, document):
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    checker, _ = CHECKERS[name]
    count = 0
    for group in document["testGroups"]:
        for test in group["tests"]:
            checker(group, test)
            count += 1
    if count != document["numberOfTests"]:
        raise Disagreement(f"numberOfTests is {document['numberOfTests']} but {count} tests")
    return count


def self_test(name, document):
    """A flipped byte in the output of the first valid test must be caught."""
    _, field = CHECKERS[name]
    flipped = copy.deepcopy(document)
    test = next(t for g in flipped["testGroups"] for t in g["tests"] if t["result"] == "valid" and field in t)
    value = bytearray(bytes.fromhex(test[field]))
    value[0] ^= 0x01
    test[field] = value.hex()
    try:
        check_file(name, flipped)
    except (Disagreement, jsonschema.ValidationError):
        return True
    return False


def main():
    run_self_test = "--self-test" in sys.argv[1:]
    files = sorted((ROOT / "vectors").glob("*.json"))
    passed = failed = 0
    for path in files:
        name = path.stem
        if name not in CHECKERS:
            print(f"{path.name}: no checker for this family")
            failed += 1
            continue
        document = json.loads(path.read_text())
        try:
            count = check_file(name, document)
            print(f"{path.name}: {count} vectors checked")
            passed += 1
        except (Disagreement, jsonschema.ValidationError, ValueError, KeyError) as error:
            print(f"{path.name}: FAILED: {error}")
            failed += 1
            continue
        if run_self_test:
            if self_test(name, document):
                print(f"{path.name}: a flipped byte is caught")
                passed += 1
            else:
                print(f"{path.name}: FAILED: a flipped byte went unnoticed")
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())
