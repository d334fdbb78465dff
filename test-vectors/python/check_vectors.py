#!/usr/bin/env python3
"""Independent consumer of the workspace's test vectors.

Re-derives every value it can from the specifications alone, with the `cryptography` package (HKDF-SHA256 and
-SHA512, AES-256-GCM, Ed25519, X25519, Argon2id), `hashlib`/`hmac` and a few lines of Edwards25519 arithmetic (point
decoding and the small-order test, which `cryptography` does not expose), and no code of this workspace; validates
every file against its JSON Schema; checks that every negative vector fails. Prints the number of vectors checked
per file and exits non-zero on any disagreement.

    python3 test-vectors/python/check_vectors.py              # check every file
    python3 test-vectors/python/check_vectors.py --self-test  # also prove that a flipped byte is caught

What it cannot re-derive: ristretto255 group operations (the OPRF, OPAQUE key pairs and Diffie-Hellman values).
In the vault messages it checks the framing, lengths, the vault's Ed25519 signatures (guesses remaining included),
the registration receipt's signature over the client's upload, the deletion receipt from the session key (DELETED_K,
HMAC tag) and an unknown user's stand-in challenge (HKDF of the OPRF seed) and fake masked response, but not the
OPAQUE runs themselves (password, clientRandomness, finalizations, key releases: the Rust consumer replays those);
in the OPAQUE exchanges it re-derives everything downstream of the OPRF output and the 3DH shared secrets, which
the vectors carry as intermediates (see the file's `notes`). In vault-core's command log it decodes every command,
response and principal by hand from the SPEC's layout (nested backup-protocol and ipls messages only as far as their
framing: type, user id, length), recomputes the request digest and the authorization, and names each refusal.
"""

import copy
import hashlib
import hmac
import json
import sys
from pathlib import Path

import jsonschema
import fleet_bundle
import kt_proofs
import kt_witness
import vault_escrow
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

import vault_api
import vault_replica

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


def u64(test, field):
    """A u64 field: a canonical decimal string (no sign, no leading zero), never a JSON number."""
    text = test[field]
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise Disagreement(f"tcId {test.get('tcId')}: {field} is not a canonical decimal string")
    value = int(text)
    expect(value < 1 << 64, test, f"{field} exceeds 2^64 - 1")
    return value


# --- recovery key (backup-protocol SPEC section 9) -----------------------------------------------------------

# Exactly these bytes are skipped: tab, line feed, form feed, carriage return, space, dash (not 0x0B, which
# str.isspace() would accept, nor any non-ASCII space).
RECOVERY_KEY_SEPARATORS = b"\t\n\x0c\r -"
HEX = b"0123456789abcdefABCDEF"


def parse_recovery_key(text):
    """(key, None) or (None, error fields); the position is the refused byte's offset in the UTF-8 encoding."""
    digits = bytearray()
    for position, byte in enumerate(text.encode("utf-8")):
        if byte in RECOVERY_KEY_SEPARATORS:
            continue
        if byte not in HEX:
            return None, {"error": "InvalidCharacter", "position": position}
        digits.append(byte)
    if len(digits) != 64:
        return None, {"error": "WrongLength", "digits": len(digits)}
    return bytes.fromhex(digits.decode()), None


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
            carried = {field: test[field] for field in ("error", "position", "digits") if field in test}
            expect(error == carried, test, f"expected {carried}, got {error}")


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


def stream_header_error(file):
    """The header's error (SPEC section 8, step 1): version, then type, then length, on the bytes present."""
    if len(file) >= 1 and file[0] < VERSION:
        return {"error": "Header", "decodeError": "LegacyVersion", "found": file[0]}
    if len(file) >= 1 and file[0] > VERSION:
        return {"error": "Header", "decodeError": "UnknownVersion", "found": file[0]}
    if len(file) >= 2 and file[1] != 0x41:
        return {"error": "Header", "decodeError": "WrongType", "expected": 0x41, "found": file[1]}
    if len(file) < 34:
        return {"error": "Header", "decodeError": "Truncated"}
    return None


def stream_decrypt(key, file):
    """Returns (plaintext, None) or (None, error fields)."""
    header_error = stream_header_error(file)
    if header_error is not None:
        return None, header_error
    header, body = file[:34], file[34:]
    file_key, prefix = stream_keys(key, header[2:])
    out, index = b"", 0
    while len(body) > SEGMENT_CIPHERTEXT:
        opened = opens(file_key, segment_nonce(prefix, index, False), body[:SEGMENT_CIPHERTEXT], header)
        if opened is None:
            return None, {"error": "SegmentRejected", "segmentIndex": index}
        out, body, index = out + opened, body[SEGMENT_CIPHERTEXT:], index + 1
    if len(body) < 16:
        return None, {"error": "Truncated"}
    if len(body) == 16 and index > 0:
        return None, {"error": "SegmentRejected", "segmentIndex": index}
    opened = opens(file_key, segment_nonce(prefix, index, True), body, header)
    if opened is None:
        return None, {"error": "SegmentRejected", "segmentIndex": index}
    return out + opened, None


def check_stream(group, test):
    key, file = b(test, "key"), b(test, "file")
    plaintext, error = stream_decrypt(key, file)
    if not valid(test):
        carried = {field: test[field] for field in ("error", "decodeError", "found", "expected", "segmentIndex") if field in test}
        expect(error == carried, test, f"expected {carried}, got {error}")
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


# --- vault messages (backup-protocol SPEC sections 2, 4, 5 and 6) --------------------------------------------

MESSAGE_TYPES = {
    "registrationRequest": (0x01, 32),
    "registrationResponse": (0x02, 160),
    "registrationUpload": (0x03, 296),
    "storedUpload": (0x03, 296),
    "registrationReceipt": (0x04, 64),
    "loginRequest": (0x11, 97),
    "loginResponse": (0x12, 400),
    "loginFinalization": (0x13, 64),
    "keyRelease": (0x14, 120),
    "deletionReceipt": (0x15, 32),
}
REGISTRATION_RESPONSE_SIGNATURE = b"backup-protocol/v1/registration-response"
LOGIN_RESPONSE_SIGNATURE = b"backup-protocol/v1/login-response"
REGISTRATION_RECEIPT_SIGNATURE = b"backup-protocol/v1/registration-receipt"
DELETED_K_INFO = b"backup-protocol/v1/deleted-k"
DELETION_RECEIPT_MAC = b"backup-protocol/v1/deletion-receipt"
FAKE_CHALLENGE_INFO = b"backup-protocol/v1/fake-challenge"
RECOMMENDED_KSF = b"".join(value.to_bytes(4, "big") for value in (19456, 2, 1))


def unframe(message, type_code, body_len):
    """(user id, body) of `version || type || len8(user id) || user id || body`, or None if it is not one."""
    if len(message) < 3 or message[0] != VERSION or message[1] != type_code or message[2] == 0:
        return None
    user_id, body = message[3 : 3 + message[2]], message[3 + message[2] :]
    return (user_id, body) if len(user_id) == message[2] and len(body) == body_len else None


def message_body(test, field):
    """The body of the test's message `field`, or None if it is not framed for the test's user."""
    framed = unframe(b(test, field), *MESSAGE_TYPES[field])
    return framed[1] if framed and framed[0] == b(test, "userId") else None


def ed25519_verifies(public_key, message, signature):
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except InvalidSignature:
        return False


def ed25519_strict(public_key, message, signature):
    """Ed25519 as the client checks the vault (SPEC section 1): S < l checked here (whether OpenSSL rejects an
    unreduced S is not something to rely on), the key and R under the workspace's key rule (ed_key_rejection), then the
    signature."""
    if len(signature) != 64 or int.from_bytes(signature[32:], "little") >= ED_L:
        return False
    if any(ed_key_rejection(encoding) is not None for encoding in (public_key, signature[:32])):
        return False
    return ed25519_verifies(public_key, message, signature)


def check_registration(test):
    user_id = b(test, "userId")
    request, response = message_body(test, "registrationRequest"), message_body(test, "registrationResponse")
    if request is None or response is None:
        expect(not valid(test), test, "framing")
        return
    signed = REGISTRATION_RESPONSE_SIGNATURE + bytes([VERSION]) + len8(user_id) + response[:32] + request + response[32:96]
    verifies = ed25519_strict(b(test, "fleetKey"), signed, response[96:])
    if not valid(test):
        expect(not verifies and test["error"] == "BadVaultSignature", test, "tampered message verifies")
        return
    expect(verifies, test, "signature")
    expect(b(test, "signedBytes") == signed and b(test, "signature") == response[96:], test, "signed bytes")
    expect(b(test, "challenge") == response[:32], test, "challenge")
    expect(b(test, "opaqueServerKey") == response[64:96], test, "OPAQUE server key")


def login_signed_bytes(user_id, request, response):
    """SPEC section 5, login: the client's request (purpose, CredentialRequest) and every field of the response but
    the signature (Argon2id parameters, u32be guesses remaining, CredentialResponse)."""
    return (LOGIN_RESPONSE_SIGNATURE + bytes([VERSION]) + len8(user_id) + request[:1] + request[1:97]
            + response[0:12] + response[12:16] + response[16:336])


def check_login_response(test):
    """Whether the login response's signature verifies (None if a message is not framed); for a response that
    verifies, every field the test derives from it."""
    request, response = message_body(test, "loginRequest"), message_body(test, "loginResponse")
    if request is None or response is None or request[0] not in (1, 2):
        return None
    if "clientRandomness" in test:
        # The client's last draw is KE1's client_nonce (opaque-ke draws the blind, client_keyshare_seed, client_nonce).
        expect(b(test, "clientRandomness")[-32:] == request[33:65], test, "clientRandomness ends with KE1's nonce")
    signed = login_signed_bytes(b(test, "userId"), request, response)
    verifies = ed25519_strict(b(test, "fleetKey"), signed, response[336:])
    if verifies:
        expect(test["guessesRemaining"] == int.from_bytes(response[12:16], "big"), test, "guessesRemaining")
        expect(test["purpose"] == request[0], test, "purpose")
        for field, value in (("signedBytes", signed), ("signature", response[336:]), ("ksfParams", response[:12])):
            expect(field not in test or b(test, field) == value, test, field)
    return verifies


def check_login(test):
    verifies = check_login_response(test)
    if valid(test):
        expect(verifies, test, "signature")
        expect(message_body(test, "loginFinalization") is not None, test, "finalization framing")
        expect(message_body(test, "keyRelease") is not None, test, "key release framing")
    elif test["error"] == "BadVaultSignature":
        expect(not verifies, test, "the altered response verifies")
    else:
        # A genuine answer, refused by OPAQUE at the client (ristretto255: not re-derived here).
        expect(verifies and test["error"] == "WrongPassword", test, "a wrong password's answer is genuine")


def registration_receipt_outcome(test, upload):
    """The client's verdict on the receipt (SPEC section 7): None, or the error."""
    framed = unframe(b(test, "registrationReceipt"), 0x04, 64)
    if framed is None:
        return "Decode"
    user_id, signature = framed
    if user_id != b(test, "userId"):
        return "UserMismatch"
    signed = REGISTRATION_RECEIPT_SIGNATURE + bytes([VERSION]) + len8(user_id) + upload
    return None if ed25519_strict(b(test, "fleetKey"), signed, signature) else "ReceiptRejected"


def check_registration_receipt(test):
    user_id = b(test, "userId")
    prefix = bytes([VERSION]) + len8(user_id)
    request, response = message_body(test, "registrationRequest"), message_body(test, "registrationResponse")
    upload = message_body(test, "registrationUpload")
    expect(None not in (request, response, upload), test, "framing")
    # The exchange the client ran: a genuine response, and an upload that answers its challenge.
    signed_response = REGISTRATION_RESPONSE_SIGNATURE + prefix + response[:32] + request + response[32:96]
    expect(ed25519_strict(b(test, "fleetKey"), signed_response, response[96:]), test, "registration response signature")
    expect(b(test, "opaqueServerKey") == response[64:96], test, "OPAQUE server key")
    expect(upload[204:236] == response[:32], test, "the upload answers the challenge")
    # The client's last draws: the envelope nonce (the envelope's first 32 bytes), then K_NONCE.
    draws = b(test, "clientRandomness")
    expect(draws[-44:-12] == upload[108:140] and draws[-12:] == upload[236:248], test, "clientRandomness ends with the nonces")
    # What the receipt must sign: the client's own upload.
    expect(b(test, "uploadBody") == upload, test, "uploadBody")
    expect(b(test, "signedBytes") == REGISTRATION_RECEIPT_SIGNATURE + prefix + upload, test, "signedBytes")
    expect(b(test, "signature") == b(test, "registrationReceipt")[-64:], test, "signature")
    if "storedUpload" in test:
        stored = message_body(test, "storedUpload")
        expect(stored is not None and stored != upload, test, "storedUpload")
        signed_stored = REGISTRATION_RECEIPT_SIGNATURE + prefix + stored
        expect(ed25519_strict(b(test, "fleetKey"), signed_stored, b(test, "signature")), test, "the receipt signs storedUpload")
    outcome = registration_receipt_outcome(test, upload)
    if valid(test):
        expect(outcome is None, test, f"valid receipt refused: {outcome}")
    else:
        expect(outcome == test["error"], test, f"expected {test['error']}, got {outcome}")


def check_deletion_receipt(test):
    user_id = b(test, "userId")
    # The deletion login the receipt answers: genuine, for purpose 2, finished by the client.
    expect(check_login_response(test) is True and test["purpose"] == 2, test, "the deletion login's response")
    expect(message_body(test, "loginFinalization") is not None, test, "finalization framing")
    deleted_k = hkdf(None, b(test, "sessionKey"), DELETED_K_INFO, 32)
    mac_input = DELETION_RECEIPT_MAC + bytes([VERSION]) + len8(user_id)
    tag = hmac.new(deleted_k, mac_input, hashlib.sha256).digest()
    expect(b(test, "deletedKInfo") == DELETED_K_INFO, test, "deletedKInfo")
    expect(b(test, "deletedK") == deleted_k, test, "deletedK")
    expect(b(test, "macInput") == mac_input, test, "macInput")
    receipt = b(test, "deletionReceipt")
    expect(b(test, "tag") == receipt[-32:], test, "tag")
    framed = unframe(receipt, 0x15, 32)
    if framed is None:
        outcome = "Decode"
    elif framed[0] != user_id:
        outcome = "UserMismatch"
    else:
        outcome = None if hmac.compare_digest(framed[1], tag) else "ReceiptRejected"
    if valid(test):
        expect(outcome is None, test, f"valid receipt refused: {outcome}")
        expect(receipt == bytes([VERSION, 0x15]) + len8(user_id) + tag, test, "deletionReceipt")
    else:
        expect(outcome == test["error"], test, f"expected {test['error']}, got {outcome}")


def check_unknown_user(test):
    user_id = b(test, "userId")
    keys = b(test, "vaultKeys")
    expect(len(keys) == 162 and keys[:2] == bytes([VERSION, 0x31]), test, "vaultKeys framing")
    oprf_seed = keys[2:66]
    info = FAKE_CHALLENGE_INFO + user_id
    challenge = hkdf(None, oprf_seed, info, 32)
    expect(b(test, "oprfSeed") == oprf_seed, test, "oprfSeed")
    expect(b(test, "fakeChallengeInfo") == info, test, "fakeChallengeInfo")
    expect(b(test, "fakeChallenge") == challenge, test, "fakeChallenge")
    expect(b(test, "credentialIdentifier") == len8(user_id) + challenge, test, "credentialIdentifier")
    signer = Ed25519PrivateKey.from_private_bytes(keys[130:])
    expect(signer.public_key().public_bytes_raw() == b(test, "fleetKey"), test, "fleetKey is the key file's")
    # The stand-in answer: signed like any other, with the default Argon2id parameters.
    expect(check_login_response(test) is True, test, "the stand-in answer's signature")
    response = message_body(test, "loginResponse")
    expect(response[:12] == RECOMMENDED_KSF, test, "default Argon2id parameters")
    # OPAQUE's fake record (RFC 9807 section 6.3.2.2): a random masking key (the vault's first draw) masks the
    # server public key and an all-zero envelope. The evaluation under the stand-in OPRF key needs ristretto255.
    draws, ke2 = b(test, "vaultRandomness"), response[16:336]
    expect(len(draws) == 160, test, "vaultRandomness: masking key, masking_nonce, server_keyshare_seed, server_nonce")
    expect(ke2[32:64] == draws[64:96] and ke2[192:224] == draws[128:160], test, "KE2 nonces")
    pad = expand64(draws[:64], ke2[32:64] + b"CredentialResponsePad", 128)
    unmasked = bytes(x ^ y for x, y in zip(ke2[64:192], pad))
    expect(unmasked == b(test, "opaqueServerKey") + bytes(96), test, "fake masked response")
    expect(not valid(test) and test["error"] == "WrongPassword", test, "an unknown user's login never finishes")


def check_vault_messages(group, test):
    {
        "Registration": check_registration,
        "RegistrationReceipt": check_registration_receipt,
        "Login": check_login,
        "DeletionReceipt": check_deletion_receipt,
        "UnknownUser": check_unknown_user,
        "Api": check_vault_api,
    }[group["type"]](test)


# --- fleet bundle (fleet-bundle SPEC) ------------------------------------------------------------------------

BUNDLE_WITNESS = b"fleet-bundle/v1/bundle/witness"
BUNDLE_OPERATOR = b"fleet-bundle/v1/bundle/operator"


class Malformed(Exception):
    """A DecodeError (fleet-bundle SPEC 12.4): its name and fields, under the vectors' field names."""


def bundle_reader(data, expected_type):
    """Reads fields left to right as the crate's Reader does: Truncated when a field runs past the end."""
    position = 0

    def take(length):
        nonlocal position
        if position + length > len(data):
            raise Malformed({"decodeError": "Truncated"})
        position += length
        return data[position - length : position]

    def header():
        version = take(1)[0]
        if version < VERSION:
            raise Malformed({"decodeError": "ObsoleteVersion", "found": version})
        if version > VERSION:
            raise Malformed({"decodeError": "UnknownVersion", "found": version})
        found = take(1)[0]
        if found != expected_type:
            raise Malformed({"decodeError": "WrongMessageType", "expected": expected_type, "found": found})

    def finish():
        if position != len(data):
            raise Malformed({"decodeError": "TrailingBytes", "count": len(data) - position})

    return take, header, finish


FLEET_ID_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789-._"
ROLES = {1: "ResponseSigning", 2: "OpaqueServer", 3: "IplsSession"}


def fleet_id_error(fleet_id):
    """SPEC 2: the fields of the fleet id's FleetIdError (Length, then the first bad Character), or None."""
    if not 1 <= len(fleet_id) <= 64:
        return {"fleetIdError": "Length", "count": len(fleet_id)}
    bad = [i for i, byte in enumerate(fleet_id) if byte not in FLEET_ID_BYTES]
    return {"fleetIdError": "Character", "index": bad[0]} if bad else None


def decode_bundle(wire):
    """SPEC 5 and 4: (body, witness signature, operator signature, fleet id, epoch, issued_at, expires_at, keys)."""
    take, header, finish = bundle_reader(wire, 0x02)
    header()
    body = take(int.from_bytes(take(2), "big"))
    witness_sig, operator_sig = take(64), take(64)
    finish()
    take, header, finish = bundle_reader(body, 0x01)
    header()
    fleet_id = take(take(1)[0])
    error = fleet_id_error(fleet_id)
    if error:
        raise Malformed({"decodeError": "FleetId", **error})
    epoch, issued_at, expires_at = (int.from_bytes(take(8), "big") for _ in range(3))
    if issued_at >= expires_at:
        raise Malformed({"decodeError": "InvalidValidityWindow"})
    count = int.from_bytes(take(2), "big")
    if not 1 <= count <= 1024:
        raise Malformed({"decodeError": "KeyCount", "count": count})
    keys = []
    for index in range(count):
        role = take(1)[0]
        if role not in ROLES:
            raise Malformed({"decodeError": "UnknownRole", "index": index, "found": role})
        key = take(32)
        if keys and keys[-1][1] >= key:
            raise Malformed({"decodeError": "NonCanonicalKeyOrder", "index": index})
        keys.append((ROLES[role], key))
    finish()
    return body, witness_sig, operator_sig, fleet_id, epoch, issued_at, expires_at, keys


def received_key_error(role, key):
    """SPEC 7.1 and 7.2 for received keys: canonical and not of small order (no curve check), or not all zero."""
    if role != "ResponseSigning":
        return "AllZero" if key == bytes(32) else None
    rejection = ed_key_rejection(key)
    return {"NonCanonical": "NonCanonicalEncoding", "SmallOrder": "SmallOrder"}.get(rejection)


def verify_bundle(test):
    """Returns None for an accepted bundle, else (the first failing check's name, its fields), in the SPEC's order."""
    if "stateEpoch" in test and test["stateFleetId"] != test["fleetId"]:
        return "StateOfOtherFleet", {}
    try:
        body, witness_sig, operator_sig, fleet_id, epoch, issued_at, expires_at, keys = decode_bundle(b(test, "signedBundle"))
    except Malformed as error:
        return "Malformed", error.args[0]
    if fleet_id != test["fleetId"].encode():
        return "UnknownFleet", {"foundFleetId": fleet_id.decode()}
    if not ed25519_verifies(b(test, "witnessKey"), BUNDLE_WITNESS + body, witness_sig):
        return "BadWitnessSignature", {}
    if not ed25519_verifies(b(test, "operatorKey"), BUNDLE_OPERATOR + body + witness_sig, operator_sig):
        for other in (BUNDLE_OPERATOR + body, BUNDLE_WITNESS + body):
            if ed25519_verifies(b(test, "operatorKey"), other, operator_sig):
                return "CounterSignatureOverOtherBytes", {}
        return "BadCounterSignature", {}
    if u64(test, "now") < issued_at:
        return "NotYetValid", {"issuedAt": str(issued_at)}
    if u64(test, "now") >= expires_at:
        return "Expired", {"expiresAt": str(expires_at)}
    if "stateEpoch" in test:
        if epoch < u64(test, "stateEpoch"):
            return "Rollback", {"epoch": str(epoch), "lastAccepted": test["stateEpoch"]}
        if epoch == u64(test, "stateEpoch") and hashlib.sha256(body).digest() != b(test, "stateBodyDigest"):
            return "Equivocation", {"epoch": str(epoch)}
    for index, (role, key) in enumerate(keys):
        error = received_key_error(role, key)
        if error:
            return "InvalidKey", {"index": index, "keyError": error}
    for role, key in keys:
        for party in ("witness", "operator"):
            if key == b(test, party + "Key"):
                return "KeyWithWrongRole", {"party": party.capitalize(), "role": role}
    return None


BUNDLE_ERROR_FIELDS = fleet_bundle.ERROR_FIELDS


def check_fleet_bundle(group, test):
    for field in U64_FIELDS["fleet_bundle"]:
        if field in test:
            u64(test, field)
    # Deployment records, artifacts, the log, pinned keys and the responder check: fleet_bundle.py.
    if check_fleet_groups(group, test):
        return
    outcome = verify_bundle(test)
    if not valid(test):
        carried = {field: test[field] for field in BUNDLE_ERROR_FIELDS if field in test}
        expect(outcome == (test["error"], carried), test, f"expected {test['error']} {carried}, got {outcome}")
        return
    expect(outcome is None, test, f"valid bundle refused: {outcome}")
    body = b(test, "body")
    times = [int.from_bytes(body[3 + body[2] + 8 * i : 11 + body[2] + 8 * i], "big") for i in range(3)]
    expect([u64(test, field) for field in ("epoch", "issuedAt", "expiresAt")] == times, test, "epoch and validity window")
    expect(b(test, "witnessSignedBytes") == BUNDLE_WITNESS + body, test, "witness signed bytes")
    expect(b(test, "operatorSignedBytes") == BUNDLE_OPERATOR + body + b(test, "witnessSignature"), test, "operator signed bytes")
    wire = bytes([VERSION, 0x02]) + len(body).to_bytes(2, "big") + body + b(test, "witnessSignature") + b(test, "operatorSignature")
    expect(b(test, "signedBundle") == wire, test, "envelope")


# --- IPLS contact sealing (ipls SPEC) ------------------------------------------------------------------------


def sealing_refusal(account, contact, sealed):
    """ipls SPEC 2, 4 and 12's order for opening a sealed contact: (error, its fields), or None."""
    if not (1 <= len(account) <= 255 and 1 <= len(contact) <= 255):
        return "InvalidId", {}
    if len(sealed) < 30:
        return "Truncated", {}
    if sealed[0] != VERSION:
        return ("LegacyVersion" if sealed[0] < VERSION else "UnknownVersion"), {"found": sealed[0]}
    if sealed[1] != 0x71:
        return "WrongType", {"found": sealed[1]}
    return None


def check_ipls_sealing(group, test):
    account, contact, sealed = b(test, "accountId"), b(test, "contactId"), b(test, "sealed")
    refusal = sealing_refusal(account, contact, sealed)
    if refusal is None:
        info = b"ipls/v1/contact-key" + len8(account)
        aad = b"ipls/v1/contact" + bytes([VERSION]) + len8(account) + len8(contact)
        account_key = hkdf(None, b(test, "contactKey"), info, 32)
    opened = None if refusal else opens(account_key, sealed[2:14], sealed[14:], aad)
    if not valid(test):
        refusal = refusal or (None if opened is not None else ("Rejected", {}))
        carried = (test["error"], {"found": test["found"]} if "found" in test else {})
        expect(refusal == carried, test, f"expected {carried}, got {refusal}")
        return
    expect(refusal is None, test, f"refused: {refusal}")
    expect(b(test, "accountKeyInfo") == info and b(test, "aad") == aad, test, "info or aad")
    expect(b(test, "nonce") == sealed[2:14], test, "nonce")
    expect(opened == b(test, "record"), test, "record")
    resealed = bytes([VERSION, 0x71]) + b(test, "nonce") + AESGCM(account_key).encrypt(b(test, "nonce"), b(test, "record"), aad)
    expect(resealed == sealed, test, "sealed")


# --- IPLS escrow sessions (ipls SPEC sections 6-9) ----------------------------------------------------------

ESCROW_NONCE_FIRST = bytes(12)
ESCROW_NONCE_SECOND = bytes(11) + b"\x01"


class Refused(Exception):
    """A side of the escrow session refuses, with the ipls error name."""


def x25519_public(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


def x25519(secret, public):
    try:
        return X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:  # an all-zero shared secret: the peer's share has small order
        raise Refused("WeakKeyShare")


def escrow_keys(static_shared, ephemeral_shared, hello, challenge_body):
    info = b"ipls/v1/escrow-session-keys" + hello + challenge_body
    keys = hkdf(None, static_shared + ephemeral_shared, info, 64)
    return info, keys[:32], keys[32:]


def escrow_transcript(hello, challenge_body):
    return hashlib.sha256(b"ipls/v1/escrow-transcript" + hello + challenge_body).digest()


def escrow_open(key, nonce, aad, ciphertext, error):
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise Refused(error)


def escrow_decode(kind, data):
    """ipls SPEC 7 and 12: the escrow decoder of `kind` on `data`: None if it accepts them, else (error, fields)
    in the decoders' order (version, type, each field: Truncated, InvalidField, InvalidId; then TrailingBytes)."""

    class Stop(Exception):
        pass

    position = 0

    def take(length):
        nonlocal position
        if position + length > len(data):
            raise Stop("Truncated", {})
        position += length
        return data[position - length : position]

    try:
        version = take(1)[0]
        if version != VERSION:
            raise Stop("LegacyVersion" if version < VERSION else "UnknownVersion", {"found": version})
        found = take(1)[0]
        expected = {"hello": 0x72, "challenge": 0x73, "auth": 0x74, "reply": 0x75, "identityProof": 0x76}[kind]
        if found != expected:
            raise Stop("WrongType", {"found": found})
        if kind == "hello":
            if take(1)[0] not in (1, 2):
                raise Stop("InvalidField", {"invalidField": "escrow purpose"})
            take(64)
            if not take(take(1)[0]):
                raise Stop("InvalidId", {})
        elif kind == "challenge":
            take(32 + 32 + 16)
        elif kind == "auth":
            take(32)
            if len(data) - position < 16:
                raise Stop("Truncated", {})
            position = len(data)
        elif kind == "reply":
            if len(data) - position not in (16, 48):
                raise Stop("InvalidField", {"invalidField": "reply length"})
            position = len(data)
        else:
            take(int.from_bytes(take(2), "big"))
            take(int.from_bytes(take(2), "big"))
        if position != len(data):
            raise Stop("TrailingBytes", {})
    except Stop as stop:
        return stop.args
    return None


def escrow_refusal_name(error, fields):
    """A refusal as the vectors' `error` and `invalidField` name it together: InvalidField(its field)."""
    return f"{error}({fields['invalidField']})" if "invalidField" in fields else error


def escrow_decoded(kind, data):
    """Raises Refused if the decoder of `kind` refuses `data`."""
    refusal = escrow_decode(kind, data)
    if refusal:
        raise Refused(escrow_refusal_name(*refusal))


def escrow_payload(payload, upload):
    """ipls SPEC 9 step 4, the opened auth payload: account key (32), signature (64), the identity proof's two
    len16 parts, the contact key (32, upload only), nothing after; raises Refused (Truncated, TrailingBytes)."""
    position = 96 + 2
    for _ in range(2):
        if len(payload) < position:
            raise Refused("Truncated")
        position += int.from_bytes(payload[position - 2 : position], "big") + 2
    position += (32 if upload else 0) - 2
    if len(payload) < position:
        raise Refused("Truncated")
    if len(payload) > position:
        raise Refused("TrailingBytes")


def escrow_device_hello(test):
    purpose = b"\x01" if test["purpose"] == "upload" else b"\x02"
    vault_public = x25519_public(b(test, "vaultSecret"))
    share = x25519_public(b(test, "clientSecret"))
    return bytes([VERSION, 0x72]) + purpose + vault_public + share + len8(b(test, "accountId"))


def escrow_auth(test, hello, challenge_message, to_vault):
    """What the device sends: its signature over the transcript and the payload, sealed."""
    th = escrow_transcript(hello, challenge_message[:66])
    account = Ed25519PrivateKey.from_private_bytes(b(test, "accountSeed"))
    signed = b"ipls/v1/escrow-account-signature" + th
    signature = account.sign(signed)
    upload = b(test, "contactKey") if test["purpose"] == "upload" else b""
    payload = account.public_key().public_bytes_raw() + signature + b(test, "identityProof")[2:] + upload
    aad = b"ipls/v1/escrow-auth" + th
    auth = bytes([VERSION, 0x74]) + challenge_message[2:34] + AESGCM(to_vault).encrypt(ESCROW_NONCE_FIRST, payload, aad)
    return th, signed, signature, payload, aad, auth


def escrow_vault(test):
    """The vault's side on the vector's messages: returns the payload, or raises Refused."""
    vault_secret, hello = b(test, "vaultSecret"), b(test, "hello")
    escrow_decoded("hello", hello)
    if hello[3:35] != x25519_public(vault_secret):
        raise Refused("WrongVaultKey")
    static_shared = x25519(vault_secret, hello[35:67])
    ephemeral_shared = x25519(b(test, "vaultEphemeral"), hello[35:67])
    # The vault's own challenge: the challenge bytes and its share, as it drew them.
    body = bytes([VERSION, 0x73]) + b(test, "challenge") + x25519_public(b(test, "vaultEphemeral"))
    _, to_vault, _ = escrow_keys(static_shared, ephemeral_shared, hello, body)
    auth = b(test, "auth")
    escrow_decoded("auth", auth)
    if auth[2:34] != body[2:34]:
        raise Refused("WrongChallenge")
    th = escrow_transcript(hello, body)
    payload = escrow_open(to_vault, ESCROW_NONCE_FIRST, b"ipls/v1/escrow-auth" + th, auth[34:], "Rejected")
    escrow_payload(payload, hello[2] == 1)
    public, signature = payload[:32], payload[32:96]
    if ed_key_rejection(public):
        raise Refused("InvalidAccountKey")
    if not ed25519_verifies(public, b"ipls/v1/escrow-account-signature" + th, signature):
        raise Refused("BadSignature")
    return payload


def escrow_device(test):
    """The device's side on the vector's messages: returns what the reply holds, or raises Refused."""
    hello = escrow_device_hello(test)
    challenge = b(test, "challengeMessage")
    static_shared = x25519(b(test, "clientSecret"), x25519_public(b(test, "vaultSecret")))
    ephemeral_shared = x25519(b(test, "clientSecret"), challenge[34:66])
    _, to_vault, to_device = escrow_keys(static_shared, ephemeral_shared, hello, challenge[:66])
    th = escrow_transcript(hello, challenge[:66])
    escrow_open(to_device, ESCROW_NONCE_FIRST, b"ipls/v1/escrow-confirm" + th, challenge[66:], "VaultNotAuthenticated")
    _, _, _, _, _, auth = escrow_auth(test, hello, challenge, to_vault)
    th_reply = hashlib.sha256(b"ipls/v1/escrow-transcript" + th + auth).digest()
    reply = b(test, "reply")
    escrow_decoded("reply", reply)
    plaintext = escrow_open(to_device, ESCROW_NONCE_SECOND, b"ipls/v1/escrow-reply" + th_reply, reply[2:], "VaultNotAuthenticated")
    if len(plaintext) != (0 if test["purpose"] == "upload" else 32):
        raise Refused("InvalidField(reply length)")
    return plaintext


def escrow_identity(test, payload):
    """The vault's identity check on an opened auth payload (vault-core SPEC §4, IplsAuth step 3, then the kt-head
    rule): raises Refused with vault-core's IdentityError name. The Plexi signature and its checks as for
    witness_signature; the akd lookup through kt_proofs, which re-derives the BLAKE3 leaves and Merkle paths up to
    the root but does not run the VRF (so it does not check that the proof is of label = accountId)."""
    for field in U64_FIELDS["ipls_escrow"]:
        if field in test:
            u64(test, field)
    parts = payload[96:]
    root_len = int.from_bytes(parts[:2], "big")
    signed_root = parts[2 : 2 + root_len]
    lookup_len = int.from_bytes(parts[2 + root_len : 4 + root_len], "big")
    lookup = parts[4 + root_len : 4 + root_len + lookup_len]
    expect(bytes([VERSION, 0x76]) + parts[: 4 + root_len + lookup_len] == b(test, "identityProof"), test, "identityProof in the payload")
    expect(signed_root == b(test, "signedRoot") and lookup == b(test, "lookupProof"), test, "signedRoot or lookupProof")
    try:
        root = dict(pb_fields(signed_root))
        message, signature, key_id = root[1], root[2], root[3]
        fields = dict(pb_fields(message))
        suite, namespace, timestamp, digest = fields[1], fields[2], fields[3], fields[5]
        epoch = dict(pb_fields(fields[4]))[1]
    except (ValueError, KeyError, TypeError):
        raise Refused("Root")
    expect(suite == 1 and plexi_protobuf(suite, namespace, timestamp, epoch, digest) == message, test, "a canonical protobuf SignatureMessage")
    expect(pb_bytes(1, message) + pb_bytes(2, signature) + pb_varint(3, key_id) == signed_root, test, "a canonical SignedRoot")
    expect((u64(test, "rootEpoch"), b(test, "rootDigest"), u64(test, "rootTimestampMs")) == (epoch, digest, timestamp), test, "rootEpoch, rootDigest or rootTimestampMs")
    expect(test["witnessKeyId"] == b(test, "witnessPublicKey")[31], test, "witnessKeyId is the key's last byte")
    witness = {
        "tcId": test["tcId"], "publicKey": test["witnessPublicKey"], "signature": signature.hex(), "keyId": key_id,
        "namespace": namespace.decode(), "verifierNamespace": test["namespace"], "timestampMs": str(timestamp),
        "nowMs": test["nowMs"], "notBeforeMs": "0", "maxAgeMs": test["maxAgeMs"],
    }
    outcome = witness_outcome(witness, message)
    if outcome is not None:
        raise Refused(f"Witness({outcome})")
    lookup_test = {"vrfPublicKey": test["vrfPublicKey"], "proof": lookup.hex(), "epoch": str(epoch), "rootHash": digest.hex()}
    try:
        versions, binds = kt_proofs.lookup_outcome(lookup_test, vrf_key_point)
    except kt_proofs.Refusal as refusal:
        raise Refused(f"Lookup({refusal.args[0]})")
    if not binds:
        raise Refused("Lookup(Rejected)")
    if versions[0][2] != payload[:32]:
        raise Refused("KeyMismatch")
    if "newestEpoch" in test:
        newest = u64(test, "newestEpoch")
        if epoch < newest:
            expect((test.get("errorEpoch"), test.get("errorNewest")) == (str(epoch), str(newest)), test, "StaleRoot's epochs")
            raise Refused("StaleRoot")
        if epoch == newest and digest != b(test, "newestDigest"):
            expect((test.get("errorEpoch"), test.get("errorNewest")) == (str(epoch), None), test, "ForkedRoot's epoch")
            raise Refused("ForkedRoot")


def check_ipls_escrow(group, test):
    if group["type"] == "EscrowDecode":
        refusal = escrow_decode(test["messageType"], b(test, "message"))
        if valid(test):
            expect(refusal is None, test, f"refused: {refusal}")
        else:
            carried = {field: test[field] for field in ("found", "invalidField") if field in test}
            expect(refusal == (test["error"], carried), test, f"expected {test['error']} {carried}, got {refusal}")
        return
    if group["type"] == "VaultEscrow":
        check_vault_escrow(test)
        return
    for field in U64_FIELDS["ipls_escrow"]:
        if field in test:
            u64(test, field)
    expect(valid(test) != (group["type"] in ("EscrowReject", "EscrowIdentityReject")), test, f"result in a {group['type']} group")
    if not valid(test):
        # EscrowIdentityReject: refused by the vault, which names no refusedBy.
        identity_group = group["type"] == "EscrowIdentityReject"
        expect(("refusedBy" in test) != identity_group, test, "refusedBy, exactly outside EscrowIdentityReject")
        by = "vault" if identity_group else test["refusedBy"]
        expect(by in ("vault", "device"), test, f"refusedBy {by}")
        side = escrow_vault if by == "vault" else escrow_device
        try:
            opened = side(test)
            if by == "vault":
                escrow_identity(test, opened)
        except Refused as refusal:
            expected = escrow_refusal_name(test["error"], test)
            expect(str(refusal) == expected, test, f"refused with {refusal}, not {expected}")
            return
        raise Disagreement(f"tcId {test['tcId']}: the {by} accepted it")

    hello = escrow_device_hello(test)
    vault_public, share = hello[3:35], hello[35:67]
    vault_share = x25519_public(b(test, "vaultEphemeral"))
    static_shared = x25519(b(test, "clientSecret"), vault_public)
    ephemeral_shared = x25519(b(test, "clientSecret"), vault_share)
    expect(static_shared == x25519(b(test, "vaultSecret"), share), test, "both sides' static X25519")
    expect(ephemeral_shared == x25519(b(test, "vaultEphemeral"), share), test, "both sides' ephemeral X25519")
    challenge_body = bytes([VERSION, 0x73]) + b(test, "challenge") + vault_share
    info, to_vault, to_device = escrow_keys(static_shared, ephemeral_shared, hello, challenge_body)
    th = escrow_transcript(hello, challenge_body)
    confirm_aad = b"ipls/v1/escrow-confirm" + th
    challenge_message = challenge_body + AESGCM(to_device).encrypt(ESCROW_NONCE_FIRST, b"", confirm_aad)
    _, signed, signature, payload, auth_aad, auth = escrow_auth(test, hello, challenge_message, to_vault)
    th_reply = hashlib.sha256(b"ipls/v1/escrow-transcript" + th + auth).digest()
    reply_aad = b"ipls/v1/escrow-reply" + th_reply
    reply_plaintext = b"" if test["purpose"] == "upload" else b(test, "contactKey")
    reply = bytes([VERSION, 0x75]) + AESGCM(to_device).encrypt(ESCROW_NONCE_SECOND, reply_plaintext, reply_aad)
    derived = {
        "vaultPublic": vault_public, "clientShare": share, "vaultShare": vault_share,
        "accountPublic": Ed25519PrivateKey.from_private_bytes(b(test, "accountSeed")).public_key().public_bytes_raw(),
        "hello": hello, "staticShared": static_shared, "ephemeralShared": ephemeral_shared, "sessionKeysInfo": info, "clientToVaultKey": to_vault,
        "vaultToClientKey": to_device, "transcript": th, "confirmAad": confirm_aad,
        "challengeMessage": challenge_message, "signedMessage": signed, "signature": signature, "payload": payload,
        "authAad": auth_aad, "auth": auth, "replyTranscript": th_reply, "replyAad": reply_aad, "reply": reply,
    }
    for field, value in derived.items():
        expect(b(test, field) == value, test, field)
    # And each side accepts the other's messages.
    expect(escrow_vault(test) == payload, test, "the vault opens the auth")
    expect(escrow_device(test) == reply_plaintext, test, "the device opens the reply")
    try:
        escrow_identity(test, payload)
    except Refused as refusal:
        raise Disagreement(f"tcId {test['tcId']}: the vault refuses the identity: {refusal}")


# --- Plexi witness signatures (kt-verify SPEC, witness.rs) ---------------------------------------------------

ED_P = 2**255 - 19
ED_D = (-121665 * pow(121666, ED_P - 2, ED_P)) % ED_P
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)
MAX_SKEW_MS = 60_000


def ed_decompress(encoding):
    """The Edwards point of a 32-byte encoding, as curve25519-dalek decodes it (y taken mod p), or None."""
    y = (int.from_bytes(encoding, "little") & ((1 << 255) - 1)) % ED_P
    u, v = (y * y - 1) % ED_P, (ED_D * y * y + 1) % ED_P
    x2 = u * pow(v, ED_P - 2, ED_P) % ED_P
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P:
        x = x * ED_SQRT_M1 % ED_P
    if (x * x - x2) % ED_P:
        return None
    if x & 1 != encoding[31] >> 7:
        x = -x % ED_P
    return x, y


def ed_key_rejection(encoding):
    """The workspace's one Ed25519 key rule (kt-verify SPEC 1.4, fleet-bundle SPEC 7.1): None if the key is
    accepted, else the first failing check, in this order: "NonCanonical" (y >= p, or the sign bit set on
    y = 1 or y = p - 1), "SmallOrder", "NotAPoint"."""
    y, sign = int.from_bytes(encoding, "little") & ((1 << 255) - 1), encoding[31] >> 7
    if y >= ED_P or (sign and y in (1, ED_P - 1)):
        return "NonCanonical"
    point = ed_decompress(encoding)
    if point is None:
        return "NotAPoint"  # every small-order point is on the curve, so this order equals the SPEC's
    return "SmallOrder" if ed_small_order(point) else None


def ed_add(a, b):
    (x1, y1), (x2, y2) = a, b
    t = ED_D * x1 * x2 * y1 * y2 % ED_P
    return ((x1 * y2 + y1 * x2) * pow(1 + t, ED_P - 2, ED_P) % ED_P, (y1 * y2 + x1 * x2) * pow(1 - t, ED_P - 2, ED_P) % ED_P)


def ed_small_order(point):
    for _ in range(3):
        point = ed_add(point, point)
    return point == (0, 1)


def vrf_key_point(encoding):
    """The point of a VRF public key as akd_core 0.13's VRFPublicKey::try_from takes it (curve25519-dalek's decoding,
    y taken mod p, then refused if of small order, 'Small subgroup'), or None."""
    point = ed_decompress(encoding)
    return None if point is None or ed_small_order(point) else point


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def pb_varint(field, value):
    return varint(field << 3) + varint(value)


def pb_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def pb_fields(data):
    """Decodes varint (0) and length-delimited (2) fields; raises ValueError on anything else."""
    fields, i = [], 0

    def read_varint():
        nonlocal i
        value = 0
        for shift in range(0, 70, 7):
            if i >= len(data):
                raise ValueError("truncated")
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                if value >= 1 << 64:
                    raise ValueError("varint overflow")
                return value
        raise ValueError("varint too long")

    while i < len(data):
        tag = read_varint()
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            fields.append((field, read_varint()))
        elif wire == 2:
            length = read_varint()
            if i + length > len(data):
                raise ValueError("truncated")
            fields.append((field, data[i : i + length]))
            i += length
        else:
            raise ValueError("wire type")
    return fields


def plexi_protobuf(ciphersuite, namespace, timestamp, epoch, digest):
    return pb_varint(1, ciphersuite) + pb_bytes(2, namespace) + pb_varint(3, timestamp) + pb_bytes(4, pb_varint(1, epoch)) + pb_bytes(5, digest)


def plexi_bincode(ciphersuite, namespace, timestamp, epoch, digest):
    u64 = lambda n: n.to_bytes(8, "little")
    return ciphersuite.to_bytes(4, "little") + u64(len(namespace)) + namespace + u64(timestamp) + u64(epoch) + u64(len(digest)) + digest


def witness_outcome(test, message):
    """None if the verifier accepts, else the first failing check's name, in kt-verify's order."""
    public_key, signature = b(test, "publicKey"), b(test, "signature")
    rejection = ed_key_rejection(public_key)
    if rejection is not None:
        return {"NonCanonical": "NonCanonicalKey", "SmallOrder": "WeakKey", "NotAPoint": "InvalidKey"}[rejection]
    if test["namespace"] != test["verifierNamespace"]:
        return "WrongNamespace"
    if test["keyId"] != public_key[31]:
        return "UnknownKeyId"
    timestamp, now = u64(test, "timestampMs"), u64(test, "nowMs")
    if timestamp < u64(test, "notBeforeMs"):
        return "KeyNotYetValid"
    if timestamp > now + MAX_SKEW_MS:
        return "FromTheFuture"
    if now - timestamp > u64(test, "maxAgeMs"):
        return "Stale"
    # S < l ourselves: whether `cryptography` (OpenSSL) rejects an unreduced S is not something to rely on.
    if int.from_bytes(signature[32:], "little") >= ED_L:
        return "BadSignature"
    return None if ed25519_verifies(public_key, message, signature) else "BadSignature"


def check_witness_signature(group, test):
    if check_witness_group(group, test):
        return
    for field in U64_FIELDS["witness_signature"]:
        u64(test, field)
    fields = (test["namespace"].encode(), u64(test, "timestampMs"), u64(test, "epoch"), b(test, "digest"))
    protobuf = plexi_protobuf(test["ciphersuite"], *fields)
    message = {1: protobuf, 2: plexi_bincode(test["ciphersuite"], *fields)}.get(test["ciphersuite"])
    expect(message is not None and b(test, "signedMessage") == message, test, "signedMessage")
    root = pb_bytes(1, protobuf) + pb_bytes(2, b(test, "signature")) + pb_varint(3, test["keyId"])
    expect(b(test, "signedRoot") == root, test, "signedRoot")
    outcome = witness_outcome(test, message)
    # The fields the error carries (kt-verify SPEC 8.1): the key id, or the signing time with the key's not-before time
    # or the verifier's clock.
    fields = {
        "UnknownKeyId": {"errorKeyId": test["keyId"]},
        "KeyNotYetValid": {"errorTimestampMs": test["timestampMs"], "errorNotBeforeMs": test["notBeforeMs"]},
        "FromTheFuture": {"errorTimestampMs": test["timestampMs"], "errorNowMs": test["nowMs"]},
        "Stale": {"errorTimestampMs": test["timestampMs"], "errorNowMs": test["nowMs"]},
    }.get(outcome, {})
    named = {field: test[field] for field in ("errorKeyId", "errorTimestampMs", "errorNotBeforeMs", "errorNowMs") if field in test}
    expect(named == fields, test, f"the error's fields are {fields}, the vector's {named}")
    if not valid(test):
        expect(outcome == test["error"], test, f"expected {test['error']}, got {outcome}")
        return
    expect(outcome is None, test, f"valid root refused: {outcome}")
    if "privateKey" in test:
        signer = Ed25519PrivateKey.from_private_bytes(b(test, "privateKey"))
        expect(signer.public_key().public_bytes_raw() == b(test, "publicKey"), test, "publicKey")
        expect(signer.sign(message) == b(test, "signature"), test, "signature")


# --- security code (kt-verify SPEC, security_code.rs; libsignal's numeric fingerprint) -----------------------

FINGERPRINT_ITERATIONS = 5200


def fingerprint(identifier, key):
    """(first hash input, final hash, 30 digits) of one party."""
    first = b"\x00\x00" + key + identifier + key
    digest = hashlib.sha512(first).digest()
    for _ in range(FINGERPRINT_ITERATIONS - 1):
        digest = hashlib.sha512(digest + key).digest()
    digits = "".join(f"{int.from_bytes(digest[i : i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))
    return first, digest, digits


def qr_payload(version, local, remote):
    return pb_varint(1, version) + pb_bytes(2, pb_bytes(1, local[:32])) + pb_bytes(3, pb_bytes(1, remote[:32]))


def check_security_code(group, test):
    local_id, local_key, remote_id, remote_key = (b(test, f) for f in ("localId", "localKey", "remoteId", "remoteKey"))
    local, remote = fingerprint(local_id, local_key), fingerprint(remote_id, remote_key)
    if group["type"] == "SecurityCode":
        expect(test["iterations"] == FINGERPRINT_ITERATIONS, test, "iterations")
        expect(b(test, "localFingerprintInput") == local[0] and b(test, "remoteFingerprintInput") == remote[0], test, "fingerprint inputs")
        expect(b(test, "localHash") == local[1] and b(test, "remoteHash") == remote[1], test, "hashes")
        expect(test["localDigits"] == local[2] and test["remoteDigits"] == remote[2], test, "party digits")
        expect(test["digits"] == "".join(sorted([local[2], remote[2]])), test, "digits")
        expect(b(test, "qrPayload") == qr_payload(test["version"], local[1], remote[1]), test, "qrPayload")
        return
    # The scan, its DecodeError and fields: kt_witness.py.
    check_scan(test, local[1], remote[1])


# --- OPAQUE exchanges (RFC 9807 with backup-protocol's configuration) ----------------------------------------

OPAQUE_LENGTHS = {
    "registration_request": 32,
    "registration_response": 64,
    "registration_upload": 192,
    "KE1": 96,
    "KE2": 320,
    "KE3": 64,
    "export_key": 64,
    "session_key": 64,
}
RISTRETTO_P = 2**255 - 19


def ristretto_encoding_plausible(element):
    """RFC 9496 decoding, steps 1-2: a canonical (below p) non-negative (even) field element. A full decode needs
    square roots over the ristretto group, which this consumer does not implement."""
    s = int.from_bytes(element, "little")
    return s < RISTRETTO_P and s % 2 == 0


def expand64(prk, info, length=64):
    return HKDFExpand(algorithm=hashes.SHA512(), length=length, info=info).derive(prk)


def len16(data):
    return len(data).to_bytes(2, "big") + data


def hmac512(key, message):
    return hmac.new(key, message, hashlib.sha512).digest()


def randomized_password(test, oprf_output):
    stretched = Argon2id(salt=bytes(16), length=64, iterations=test["ksfIterations"], lanes=test["ksfParallelism"],
                         memory_cost=test["ksfMemoryKib"]).derive(oprf_output)
    return hmac512(b"", oprf_output + stretched)  # HKDF-Extract with an empty salt


def cleartext_credentials(inputs, server_public_key, client_public_key):
    server_identity = inputs.get("server_identity", server_public_key)
    client_identity = inputs.get("client_identity", client_public_key)
    return server_public_key + len16(server_identity) + len16(client_identity)


def expand_label(secret, label, context):
    label = b"OPAQUE-" + label
    return expand64(secret, (64).to_bytes(2, "big") + bytes([len(label)]) + label + bytes([len(context)]) + context)


def key_schedule(ikm, preamble):
    """(session_key, server_mac_key, client_mac_key, handshake_secret), RFC 9807 section 6.4."""
    prk = hmac512(b"", ikm)
    transcript = hashlib.sha512(preamble).digest()
    handshake_secret = expand_label(prk, b"HandshakeSecret", transcript)
    session_key = expand_label(prk, b"SessionKey", transcript)
    return session_key, expand_label(handshake_secret, b"ServerMAC", b""), expand_label(handshake_secret, b"ClientMAC", b""), handshake_secret


def preamble_of(context, client_identity, ke1, server_identity, ke2):
    return b"OPAQUEv1-" + len16(context) + len16(client_identity) + ke1 + len16(server_identity) + ke2[:256]


def opaque_client_login(test, inputs, outputs, intermediates):
    """The client's login finish: (None, (KE3, session_key)) or (error, None)."""
    ke2 = outputs["KE2"]
    rwd = randomized_password(test, intermediates["login_oprf_output"])
    masking_key = expand64(rwd, b"MaskingKey")
    unmasked = bytes(x ^ y for x, y in zip(ke2[64:192], expand64(masking_key, ke2[32:64] + b"CredentialResponsePad", 128)))
    server_public_key, envelope = unmasked[:32], unmasked[32:]
    nonce = envelope[:32]
    auth_key = expand64(rwd, nonce + b"AuthKey")
    # The client's own public key comes from the envelope seed (ristretto255): our vectors always name the client
    # identity, so the cleartext credentials do not need it.
    if "client_identity" not in inputs:
        raise Disagreement(f"tcId {test['tcId']}: no client_identity")
    if hmac512(auth_key, nonce + cleartext_credentials(inputs, server_public_key, None)) != envelope[32:]:
        return "InvalidLogin", None
    context = inputs.get("client_context", inputs["context"])
    preamble = preamble_of(context, inputs["client_identity"], outputs["KE1"], inputs.get("server_identity", server_public_key), ke2)
    session_key, server_mac_key, client_mac_key, _ = key_schedule(intermediates["ikm"], preamble)
    if hmac512(server_mac_key, hashlib.sha512(preamble).digest()) != ke2[256:]:
        return "InvalidLogin", None
    ke3 = hmac512(client_mac_key, hashlib.sha512(preamble + ke2[256:]).digest())
    return None, (ke3, session_key)


def opaque_server_finish(inputs, outputs, intermediates):
    """The server's login finish: None if it accepts KE3, else the error."""
    upload, ke2 = outputs["registration_upload"], outputs["KE2"]
    server_public_key = outputs["registration_response"][32:]
    preamble = preamble_of(inputs["context"], inputs.get("client_identity", upload[:32]), outputs["KE1"],
                           inputs.get("server_identity", server_public_key), ke2)
    _, _, client_mac_key, _ = key_schedule(intermediates["ikm"], preamble)
    expected = hmac512(client_mac_key, hashlib.sha512(preamble + ke2[256:]).digest())
    return None if hmac.compare_digest(expected, outputs["KE3"]) else "InvalidLogin"


# Each message, the opaque-ke call that reads it, and its group elements (offset) in the order they are decoded.
OPAQUE_READERS = (
    ("registration_request", "server_registration_start", (0,)),
    ("registration_response", "client_registration_finish", (0, 32)),
    ("registration_upload", "server_registration_finish", (0,)),
    ("KE1", "server_login_start", (0, 64)),
)


def opaque_read(outputs, name):
    """(step, error) if the party reading message `name` refuses it as opaque-ke decodes it: another length than
    the message's (SizeError: Other), or a group element that is no canonical ristretto255 encoding (RFC 9496
    4.3.1 steps 1-2, what this consumer can check without the group); else None. The ReflectedValue checks follow
    the decoding: the evaluated element equal to the blinded one."""
    step, offsets = next((step, offsets) for message, step, offsets in OPAQUE_READERS if message == name)
    value = outputs[name]
    if len(value) != OPAQUE_LENGTHS[name]:
        return step, "Other"
    if not all(ristretto_encoding_plausible(value[offset : offset + 32]) for offset in offsets):
        return step, "Deserialization"
    if name == "registration_response" and value[:32] == outputs["registration_request"]:
        return step, "ReflectedValue"
    return None


def opaque_outcome(test, inputs, outputs, intermediates):
    """Replays the exchange as far as the vector goes: (failing step, error) or None, and what the client produced."""
    for name, _, _ in OPAQUE_READERS:
        failure = opaque_read(outputs, name)
        if failure:
            return failure, None
    ke1 = outputs["KE1"]
    expect(ke1[32:64] == inputs["client_nonce"], test, "KE1 client nonce")
    ke2 = outputs["KE2"]
    expect(ke2[32:64] == inputs["masking_nonce"] or not valid(test), test, "KE2 masking nonce")
    expect(ke2[192:224] == inputs["server_nonce"], test, "KE2 server nonce")
    expect(ristretto_encoding_plausible(ke2[:32]) and ristretto_encoding_plausible(ke2[224:256]), test, "KE2 group elements")
    if ke2[:32] == ke1[:32]:
        return ("client_login_finish", "ReflectedValue"), None
    error, produced = opaque_client_login(test, inputs, outputs, intermediates)
    if error:
        return ("client_login_finish", error), None
    if "KE3" not in outputs:
        return None, produced
    error = opaque_server_finish(inputs, outputs, intermediates)
    return (("server_login_finish", error) if error else None), produced


def check_opaque_messages(group, test):
    inputs = {name: bytes.fromhex(value) for name, value in test["inputs"].items()}
    outputs = {name: bytes.fromhex(value) for name, value in test["outputs"].items()}
    intermediates = {name: bytes.fromhex(value) for name, value in test.get("intermediates", {}).items()}
    # The message a refusal stops at is the last one the test carries; every one before it is whole.
    order = ["registration_request", "registration_response", "registration_upload", "KE1", "KE2", "KE3"]
    carried = [name for name in order if name in outputs]
    expect(carried == order[: len(carried)], test, "messages missing before the last")
    for name, value in outputs.items():
        last_refused = not valid(test) and name == carried[-1]
        expect(last_refused or OPAQUE_LENGTHS.get(name) == len(value), test, f"{name} length")
    for name, value in intermediates.items():
        expect(len(value) == {"ikm": 96, "client_public_key": 32, "server_public_key": 32, "envelope": 96}.get(name, len(value) if name == "preamble" else 64), test, f"{name} length")
    if not valid(test) and "KE1" not in outputs or len(outputs.get("KE1", b"")) != 96:
        # Refused during registration or at a KE1 no party reads: the exchange stops at the last message carried.
        expect(not valid(test) and not intermediates, test, "an exchange that stops early carries no intermediates")
        failure = next(filter(None, (opaque_read(outputs, name) for name, _, _ in OPAQUE_READERS if name in outputs)), None)
        expected = (test["failingStep"], test["error"])
        expect(failure == expected, test, f"expected {expected}, got {failure}")
        return
    upload = outputs["registration_upload"]
    expect(upload[96:128] == inputs["envelope_nonce"], test, "envelope nonce")
    failure, produced = opaque_outcome(test, inputs, outputs, intermediates)
    if not valid(test):
        expected = (test["failingStep"], test["error"])
        expect(failure == expected, test, f"expected {expected}, got {failure}")
        return
    expect(failure is None, test, f"valid exchange refused: {failure}")
    # Registration: everything downstream of the OPRF output.
    server_public_key, client_public_key = outputs["registration_response"][32:], upload[:32]
    rwd = randomized_password(test, intermediates["oprf_output"])
    nonce = inputs["envelope_nonce"]
    auth_key = expand64(rwd, nonce + b"AuthKey")
    masking_key = expand64(rwd, b"MaskingKey")
    envelope = nonce + hmac512(auth_key, nonce + cleartext_credentials(inputs, server_public_key, client_public_key))
    expect(intermediates["randomized_password"] == rwd, test, "randomized_password")
    expect(intermediates["masking_key"] == masking_key, test, "masking_key")
    expect(intermediates["auth_key"] == auth_key, test, "auth_key")
    expect(intermediates["server_public_key"] == server_public_key, test, "server_public_key")
    expect(intermediates["client_public_key"] == client_public_key, test, "client_public_key")
    expect(intermediates["envelope"] == envelope, test, "envelope")
    expect(upload == client_public_key + masking_key + envelope, test, "registration_upload")
    expect(outputs["export_key"] == expand64(rwd, nonce + b"ExportKey"), test, "export_key")
    expect(intermediates["login_oprf_output"] == intermediates["oprf_output"], test, "same password, same OPRF output")
    # Login: the key schedule, the MACs and the session key.
    pad = expand64(masking_key, inputs["masking_nonce"] + b"CredentialResponsePad", 128)
    expect(outputs["KE2"][64:192] == bytes(x ^ y for x, y in zip(server_public_key + envelope, pad)), test, "KE2 masked response")
    preamble = preamble_of(inputs["context"], inputs["client_identity"], outputs["KE1"], inputs.get("server_identity", server_public_key), outputs["KE2"])
    session_key, server_mac_key, client_mac_key, handshake_secret = key_schedule(intermediates["ikm"], preamble)
    expect(intermediates["preamble"] == preamble, test, "preamble")
    expect(intermediates["handshake_secret"] == handshake_secret, test, "handshake_secret")
    expect(intermediates["server_mac_key"] == server_mac_key and intermediates["client_mac_key"] == client_mac_key, test, "MAC keys")
    expect(produced == (outputs["KE3"], outputs["session_key"]), test, "KE3 and session_key")


# --- vault command log, responses and principals (vault-core SPEC sections 3, 10 and 11) --------------------

COMMAND_TYPE = 0x51
RESPONSE_TYPE = 0x52
REQUEST_KINDS = {1: "RegistrationStart", 2: "RegistrationFinish", 3: "LoginStart", 4: "LoginFinish", 5: "IplsHello",
                 6: "IplsAuth", 7: "Sweep", 8: "ObserveRoot"}
RESPONSE_KINDS = {1: "RegistrationStarted", 2: "Registered", 3: "LoginStarted", 4: "KeyReleased", 5: "Deleted",
                  6: "IplsChallenge", 7: "IplsReply", 8: "Swept", 9: "RootObserved"}
# The nested message of each kind: a backup-protocol message (type code, body length; SPEC 4.3 of backup-protocol)
# or an ipls message (type code; ipls messages.rs). Sweep cursors and signed roots are raw bytes.
REQUEST_MESSAGES = {1: ("backup", 0x01, 32), 2: ("backup", 0x03, 296), 3: ("backup", 0x11, 97),
                    4: ("backup", 0x13, 64), 5: ("hello", 0x72, None), 6: ("auth", 0x74, None)}
RESPONSE_MESSAGES = {1: ("backup", 0x02, 160), 2: ("backup", 0x04, 64), 3: ("backup", 0x12, 400),
                     4: ("backup", 0x14, 120), 5: ("backup", 0x15, 32), 6: ("challenge", 0x73, None),
                     7: ("reply", 0x75, None)}
SESSION_ID_LEN = 16
DECODE_ERROR_FIELDS = ("error", "invalidField", "found", "expected")


class Refused(Exception):
    """A decoder's refusal, as the fields of the DecodeError it names."""

    def __init__(self, error, **fields):
        super().__init__(error)
        self.fields = {"error": error, **fields}


class ByteReader:
    def __init__(self, data):
        self.data, self.position = data, 0

    def take(self, length):
        if len(self.data) - self.position < length:
            raise Refused("Truncated")
        self.position += length
        return self.data[self.position - length : self.position]

    def integer(self, length):
        return int.from_bytes(self.take(length), "big")

    def rest(self):
        rest, self.position = self.data[self.position :], len(self.data)
        return rest

    def finish(self):
        if self.position != len(self.data):
            raise Refused("TrailingBytes")


def read_header(reader, type_code):
    """The version is judged before the type is read."""
    version = reader.integer(1)
    if version < VERSION:
        raise Refused("LegacyVersion", found=version)
    if version > VERSION:
        raise Refused("UnknownVersion", found=version)
    found = reader.integer(1)
    if found != type_code:
        raise Refused("WrongType", expected=type_code, found=found)


def read_principal(reader):
    kind = reader.integer(1)
    if kind == 0x01:
        length = reader.integer(1)
        account = reader.take(length)
        if length == 0:
            raise Refused("InvalidField", invalidField="principal account id")
        return {"principal": (bytes([kind, length]) + account).hex(), "principalKind": "account", "accountId": account.hex()}
    if kind == 0x02:
        return {"principal": "02", "principalKind": "operator"}
    raise Refused("InvalidField", invalidField="principal")


def nested_user(message, shape):
    """The user (account) id a nested message names (None for ipls messages that name none), or raises ValueError if
    its framing is not that of its kind: header, type, user id of 1 to 255 bytes, exact length."""
    form, type_code, body_len = shape
    if len(message) < 2 or message[0] != VERSION or message[1] != type_code:
        raise ValueError("header")
    if form == "backup":
        framed = unframe(message, type_code, body_len)
        if framed is None or (type_code == 0x11 and framed[1][0] not in (1, 2)):
            raise ValueError("framing")
        return framed[0]
    if form == "hello":  # purpose || vault key (32) || client share (32) || len8(account) || account
        if len(message) < 68 or message[2] not in (1, 2) or message[67] == 0 or len(message) != 68 + message[67]:
            raise ValueError("hello")
        return message[68:]
    if form == "auth" and len(message) < 2 + 32 + 16:  # challenge || ciphertext with its tag
        raise ValueError("auth")
    if form == "challenge" and len(message) != 2 + 32 + 32 + 16:
        raise ValueError("challenge")
    if form == "reply" and len(message) - 2 not in (16, 48):
        raise ValueError("reply")
    return None


def message_fields(fields, message, shape, what):
    fields["message"] = message.hex()
    if shape is None:
        return
    try:
        user = nested_user(message, shape)
    except ValueError:
        raise Refused("InvalidField", invalidField=what) from None
    fields["messageType"] = message[1]
    if user is not None:
        fields["messageUserId"] = user.hex()


def decode_principal(data):
    reader = ByteReader(data)
    fields = read_principal(reader)
    reader.finish()
    return fields


def decode_command(data):
    reader = ByteReader(data)
    read_header(reader, COMMAND_TYPE)
    fields = {"command": data.hex(), "atMs": str(reader.integer(8)), "entropy": reader.take(32).hex()}
    fields.update(read_principal(reader))
    kind = reader.integer(1)
    if kind not in REQUEST_KINDS:
        raise Refused("InvalidField", invalidField="request kind")
    fields.update(kind=kind, kindName=REQUEST_KINDS[kind])
    if kind == 4:
        fields["sessionId"] = reader.take(SESSION_ID_LEN).hex()
    message_fields(fields, reader.rest(), REQUEST_MESSAGES.get(kind), "request message")
    reader.finish()
    # SPEC section 10: the request digest is the command with at_ms = 0 and entropy = 0^32.
    fields["requestDigest"] = hashlib.sha256(data[:2] + bytes(8 + 32) + data[42:]).hexdigest()
    # SPEC section 11: what the vault's first check makes of the principal.
    account = fields.get("accountId")
    if kind in (7, 8):
        allowed = account is None
    elif kind == 6:
        allowed = account is not None
    else:
        allowed = account is not None and account == fields.get("messageUserId")
    fields["authorization"] = "allowed" if allowed else "Forbidden"
    return fields


def decode_response(data):
    reader = ByteReader(data)
    read_header(reader, RESPONSE_TYPE)
    fields = {"response": data.hex()}
    kind = reader.integer(1)
    if kind not in RESPONSE_KINDS:
        raise Refused("InvalidField", invalidField="response kind")
    fields.update(kind=kind, kindName=RESPONSE_KINDS[kind])
    if kind == 3:
        fields["sessionId"] = reader.take(SESSION_ID_LEN).hex()
    if kind == 8:
        fields["removed"] = reader.integer(4)
        flag = reader.integer(1)
        if flag == 0x01:
            fields["next"] = reader.rest().hex()
        elif flag != 0x00:
            raise Refused("InvalidField", invalidField="sweep cursor")
    elif kind == 9:
        fields["epoch"] = str(reader.integer(8))
    else:
        message_fields(fields, reader.rest(), RESPONSE_MESSAGES[kind], "response message")
    reader.finish()
    return fields


VAULT_COMMAND_DECODERS = {
    "Principal": (decode_principal, "principal"),
    "Command": (decode_command, "command"),
    "Response": (decode_response, "response"),
}


def check_vault_commands(group, test):
    reject = group["type"].endswith("Reject")
    decoder, field = VAULT_COMMAND_DECODERS[group["type"].removesuffix("Reject")]
    expect(valid(test) != reject, test, f"result in a {group['type']} group")
    for decimal in ("atMs", "epoch"):
        if decimal in test:
            expect(test[decimal] == str(int(test[decimal])), test, f"{decimal} is not a canonical decimal string")
    try:
        decoded, refused = decoder(b(test, field)), None
    except Refused as refusal:
        decoded, refused = None, refusal.fields
    if reject:
        expect(refused is not None, test, "accepted")
        named = {name: test[name] for name in DECODE_ERROR_FIELDS if name in test}
        expect(refused == named, test, f"refused with {refused}, not {named}")
        return
    expect(refused is None, test, f"refused with {refused}")
    fields = {name: value for name, value in test.items() if name not in ("tcId", "comment", "flags", "result")}
    differing = sorted(name for name in set(fields) | set(decoded) if fields.get(name) != decoded.get(name))
    expect(not differing, test, f"fields differ from the decoding: {differing}")


check_witness_group, check_monitor, check_scan = kt_witness.make(sys.modules[__name__])
check_vault_escrow = vault_escrow.make(sys.modules[__name__])
check_kt_lookup, check_kt_history, check_kt_audit = kt_proofs.make_checkers(expect, valid, vrf_key_point, check_monitor)

check_fleet_groups = fleet_bundle.make(sys.modules[__name__])
check_vault_api = vault_api.make(sys.modules[__name__])

CHECKERS = {
    "recovery_key": (check_recovery_key, "key"),
    "backup_key_wrap": (check_key_wrap, "ek"),
    "backup_stream": (check_stream, "file"),
    "vault_messages": (check_vault_messages, ("signature", "record")),
    "fleet_bundle": (check_fleet_bundle, ("signedBundle", "signedRecord", "canonical")),
    "ipls_sealing": (check_ipls_sealing, "sealed"),
    "ipls_escrow": (check_ipls_escrow, ("auth", "message")),
    "witness_signature": (check_witness_signature, "signedRoot"),
    "security_code": (check_security_code, "localHash"),
    "opaque_messages": (check_opaque_messages, "outputs.export_key"),
    "vault_commands": (check_vault_commands, "command"),
    "vault_replica": (vault_replica.checker(sys.modules[__name__]), "response"),
    "kt_lookup": (check_kt_lookup, "value"),
    "kt_history": (check_kt_history, "proof"),
    "kt_audit": (check_kt_audit, "blob"),
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
    """A flipped byte in the output of the first valid test must be caught (of the first valid test with each
    field, where a family names several)."""
    _, fields = CHECKERS[name]
    return all(flipped_byte_caught(name, document, field) for field in ((fields,) if isinstance(fields, str) else fields))


def flipped_byte_caught(name, document, field):
    flipped = copy.deepcopy(document)
    *path, last = field.split(".")

    def holder(test):
        for part in path:
            test = test.get(part, {})
        return test

    test = next(t for g in flipped["testGroups"] for t in g["tests"] if t["result"] == "valid" and last in holder(t))
    value = bytearray(bytes.fromhex(holder(test)[last]))
    value[0] ^= 0x01
    holder(test)[last] = value.hex()
    try:
        check_file(name, flipped)
    except (Disagreement, jsonschema.ValidationError):
        return True
    return False


# The u64 fields of the families whose checkers read each through u64() first: the same value as a JSON number
# must be refused by the checker itself (not only by the schema).
U64_FIELDS = {
    "fleet_bundle": ("now", "epoch", "issuedAt", "expiresAt", "stateEpoch", "lastAccepted", "recordEpoch",
                     "artifactEpoch", "lastEpoch", "expectedEpoch", "foundEpoch", "responderNow"),
    "witness_signature": ("timestampMs", "epoch", "notBeforeMs", "maxAgeMs", "nowMs"),
    "ipls_escrow": ("rootEpoch", "rootTimestampMs", "maxAgeMs", "nowMs", "newestEpoch", "errorEpoch", "errorNewest"),
}


def u64_self_test(name, document):
    """Every u64 field of every test, given as a JSON number, makes the checker fail; True if all are caught."""
    for group in document["testGroups"]:
        for test in group["tests"]:
            for field in U64_FIELDS[name]:
                if field not in test:
                    continue
                altered = dict(test, **{field: int(test[field])})
                try:
                    CHECKERS[name][0](group, altered)
                except Disagreement:
                    continue
                return False
    return True


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
            if name in kt_witness.SELF_TEST_GROUPS:
                unnoticed = kt_witness.outcome_self_test(name, document, CHECKERS[name][0], (Disagreement, ValueError, KeyError))
                if not unnoticed:
                    print(f"{path.name}: a changed error name or error field is caught")
                    passed += 1
                else:
                    print(f"{path.name}: FAILED: changed outcome fields went unnoticed: {unnoticed}")
                    failed += 1
            if name in U64_FIELDS:
                if u64_self_test(name, document):
                    print(f"{path.name}: a u64 given as a JSON number is refused")
                    passed += 1
                else:
                    print(f"{path.name}: FAILED: a u64 given as a JSON number was accepted")
                    failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())
