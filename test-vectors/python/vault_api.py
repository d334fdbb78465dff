"""vault_messages.json's `Api` group (backup-protocol SPEC 4, 7, 11), re-derived without the crate: each test names
one call of the crate's API and its inputs; this module computes the call's outcome from the SPEC and compares it
with the test's (the name, and every field of a refusal).

What it cannot re-derive, as for the rest of vault_messages.json: OPAQUE itself (ristretto255). So a valid
client answer's output (the upload, the finalization) is the Rust consumer's to check, and an OPAQUE field is
checked only as far as RFC 9496's encoding rules go without the group (a canonical, non-negative field element).
Everything else is: the decoders' order and fields, the parameter and key rules, the vault's checks in their order
(the client MAC against the one its login state expects, the record against the state), the client's signature,
pin and policy checks, and a deletion receipt from the state's session key.

`make(cv)` returns the checker, given check_vectors' module for its helpers.
"""

import hashlib
import hmac

# Each encoding by its `what` (SPEC 4.3, 4.4): type code and body fields in order. A field is ("bytes", length),
# ("ksf", 12), ("purpose", 1), or ("opaque", length, offsets of its group elements, invalidField name).
ENCODINGS = {
    "registration request": (0x01, [("opaque", 32, (0,), "OPAQUE registration request")]),
    "registration response": (0x02, [("bytes", 32), ("opaque", 64, (0, 32), "OPAQUE registration response"), ("bytes", 64)]),
    "registration upload": (0x03, [("ksf", 12), ("opaque", 192, (0,), "OPAQUE registration upload"), ("bytes", 92)]),
    "registration receipt": (0x04, [("bytes", 64)]),
    "login request": (0x11, [("purpose", 1), ("opaque", 96, (0, 64), "OPAQUE credential request")]),
    "login response": (0x12, [("ksf", 12), ("bytes", 4), ("opaque", 320, (0, 224), "OPAQUE credential response"), ("bytes", 64)]),
    "login finalization": (0x13, [("opaque", 64, (), "OPAQUE credential finalization")]),
    "key release": (0x14, [("bytes", 120)]),
    "deletion receipt": (0x15, [("bytes", 32)]),
    "backup record": (0x21, [("ksf", 12), ("opaque", 192, (0,), "OPAQUE registration upload"), ("bytes", 92)]),
    "pending registration": (0x22, [("bytes", 32)]),
    "vault login state": (0x23, [("purpose", 1), ("bytes", 32), ("opaque", 128, (), "OPAQUE server state")]),
    "vault keys": (0x31, [("opaque", 128, (), "OPAQUE server setup"), ("bytes", 32)]),
}
NO_USER_ID = {"vault keys"}

# SPEC 4.2: the testing policy, which the vectors' clients (ClientConfig::insecure_fast_for_testing) and the vault
# (KsfPolicy::INSECURE_TESTING) apply: [min, max] per parameter (memory KiB, iterations, lanes).
TESTING_POLICY = ((8, 1, 1), (1048576, 16, 4))
ERROR_FIELDS = ("what", "decodeError", "found", "expected", "invalidField")


class Refusal(Exception):
    def __init__(self, name, **fields):
        super().__init__(name)
        self.name, self.fields = name, fields


def argon2_valid(m, t, p):
    """SPEC 4.2: what Argon2 accepts."""
    return 1 <= p <= 2**24 - 1 and t >= 1 and m >= 8 * p


def ksf_of(data):
    return tuple(int.from_bytes(data[i : i + 4], "big") for i in (0, 4, 8))


def make(cv):
    def decode(what, data):
        """SPEC 11.3: (user id, [body fields]) or Refusal("Decode", ...), left to right."""
        type_code, fields = ENCODINGS[what]
        position = 0

        def refuse(name, **fields):
            raise Refusal("Decode", what=what, decodeError=name, **fields)

        def take(length):
            nonlocal position
            if position + length > len(data):
                refuse("Truncated")
            position += length
            return data[position - length : position]

        version = take(1)[0]
        if version != cv.VERSION:
            refuse("LegacyVersion" if version < cv.VERSION else "UnknownVersion", found=version)
        found = take(1)[0]
        if found != type_code:
            refuse("WrongType", expected=type_code, found=found)
        user_id = None
        if what not in NO_USER_ID:
            length = take(1)[0]
            if length == 0:
                refuse("InvalidField", invalidField="user id")
            user_id = take(length)
        values = []
        for kind, length, *rest in fields:
            value = take(length)
            if kind == "ksf" and not argon2_valid(*ksf_of(value)):
                refuse("InvalidField", invalidField="Argon2id parameters")
            if kind == "purpose" and value[0] not in (1, 2):
                refuse("InvalidField", invalidField="login purpose")
            if kind == "opaque" and not all(cv.ristretto_encoding_plausible(value[o : o + 32]) for o in rest[0]):
                refuse("InvalidField", invalidField=rest[1])
            values.append(value)
        if position != len(data):
            refuse("TrailingBytes")
        return user_id, values

    def decoded(test, what, field):
        try:
            return decode(what, cv.b(test, field))
        except Refusal as refusal:
            raise cv.Disagreement(f"tcId {test['tcId']}: {field} does not decode: {refusal.fields}")

    def within(params, policy):
        low, high = policy
        return all(lo <= value <= hi for value, lo, hi in zip(params, low, high))

    def user_id(test):
        data = cv.b(test, "userId")
        if not 1 <= len(data) <= 255:
            raise Refusal("InvalidUserId")

    def ksf_params(test):
        if not argon2_valid(test["ksfMemoryKib"], test["ksfIterations"], test["ksfParallelism"]):
            raise Refusal("InvalidKsfParams")

    def vault_pins(test):
        """SPEC 1: only the fleet key is checked (the workspace's Ed25519 key rule)."""
        if cv.ed_key_rejection(cv.b(test, "fleetKey")):
            raise Refusal("WeakPinnedKey")

    def decode_call(test):
        decode(test["what"], cv.b(test, "message"))

    def pending_finish(test):
        """SPEC 7, the vault at registration: user, challenge, then the policy; a receipt over the upload."""
        user, (challenge,) = decoded(test, "pending registration", "pendingRegistration")
        upload_user, (ksf, _, wrapped) = decoded(test, "registration upload", "registrationUpload")
        if upload_user != user:
            raise Refusal("UserMismatch")
        if wrapped[:32] != challenge:
            raise Refusal("ChallengeMismatch")
        if not within(ksf_of(ksf), TESTING_POLICY):
            raise Refusal("KsfParamsRejected")
        upload_body = cv.b(test, "registrationUpload")[3 + len(user) :]
        cv.expect(cv.b(test, "record") == bytes([cv.VERSION, 0x21]) + cv.len8(user) + upload_body, test, "record")
        receipt_test = {"registrationReceipt": test["registrationReceipt"], "userId": user.hex(), "fleetKey": test["fleetKey"]}
        cv.expect(cv.registration_receipt_outcome(receipt_test, upload_body) is None, test, "the receipt signs the upload")

    def login_start(test):
        """SPEC 7.2, step 1: the record's user against the request's, before anything is charged."""
        record_user, _ = decoded(test, "backup record", "record")
        request_user, _ = decoded(test, "login request", "loginRequest")
        if record_user != request_user:
            raise Refusal("Rejected(UserMismatch)")
        raise cv.Disagreement(f"tcId {test['tcId']}: an accepted login start is OPAQUE (the Rust consumer's)")

    def login_finish(test, purpose):
        """SPEC 7, the vault finishing a login: purpose, user, the client MAC (the state holds the one it expects:
        opaque-ke's ServerLogin::finish compares them), then the record against the state."""
        user, (state_purpose, challenge, server_state) = decoded(test, "vault login state", "vaultLoginState")
        finalization_user, (mac,) = decoded(test, "login finalization", "loginFinalization")
        record_user, (_, _, wrapped) = decoded(test, "backup record", "record")
        if state_purpose[0] != purpose:
            raise Refusal("WrongPurpose")
        if finalization_user != user:
            raise Refusal("UserMismatch")
        if not hmac.compare_digest(mac, server_state[64:]):
            raise Refusal("ClientAuthenticationFailed")
        if record_user != user or wrapped[:32] != challenge:
            raise Refusal("RecordUnavailable")
        cv.expect(purpose == 2, test, "an accepted key release is the Rust consumer's (its nonce and sealing)")
        deleted_k = cv.hkdf(None, server_state[:64], cv.DELETED_K_INFO, 32)
        tag = hmac.new(deleted_k, cv.DELETION_RECEIPT_MAC + bytes([cv.VERSION]) + cv.len8(user), hashlib.sha256).digest()
        cv.expect(cv.b(test, "deletionReceipt") == bytes([cv.VERSION, 0x15]) + cv.len8(user) + tag, test, "deletionReceipt")

    def client_registration(test):
        """SPEC 7, client registration: user, the vault's signature, the pinned OPAQUE key, then OPAQUE (of which
        this consumer sees the reflected evaluation; a valid run's upload is the Rust consumer's)."""
        request_user, (request,) = decoded(test, "registration request", "registrationRequest")
        response_user, (challenge, opaque, signature) = decoded(test, "registration response", "registrationResponse")
        if response_user != cv.b(test, "userId"):
            raise Refusal("UserMismatch")
        signed = cv.REGISTRATION_RESPONSE_SIGNATURE + bytes([cv.VERSION]) + cv.len8(request_user) + challenge + request + opaque
        if not cv.ed25519_strict(cv.b(test, "fleetKey"), signed, signature):
            raise Refusal("BadVaultSignature")
        if opaque[32:] != cv.b(test, "opaqueServerKey"):
            raise Refusal("UnpinnedServerKey")
        if opaque[:32] == request:
            raise Refusal("Opaque")

    def client_login(test, purpose):
        """SPEC 7, client login: purpose, user, the vault's signature, the Argon2id policy, then OPAQUE (the Rust
        consumer's)."""
        if test["purpose"] != purpose:
            raise Refusal("WrongPurpose")
        _, (request_purpose, credential_request) = decoded(test, "login request", "loginRequest")
        response_user, (ksf, guesses, credential_response, signature) = decoded(test, "login response", "loginResponse")
        if response_user != cv.b(test, "userId"):
            raise Refusal("UserMismatch")
        body = ksf + guesses + credential_response
        signed = cv.login_signed_bytes(response_user, request_purpose + credential_request, body)
        if not cv.ed25519_strict(cv.b(test, "fleetKey"), signed, signature):
            raise Refusal("BadVaultSignature")
        if not within(ksf_of(ksf), TESTING_POLICY):
            raise Refusal("KsfParamsRejected")

    calls = {
        "UserId::new": user_id,
        "KsfParams::new": ksf_params,
        "VaultPins::new": vault_pins,
        "decode": decode_call,
        "PendingRegistration::finish": pending_finish,
        "VaultLoginState::start": login_start,
        "VaultLoginState::finish": lambda test: login_finish(test, 1),
        "VaultLoginState::finish_deletion": lambda test: login_finish(test, 2),
        "ClientRegistration::finish": client_registration,
        "ClientLogin::finish": lambda test: client_login(test, 1),
        "ClientLogin::finish_deletion": lambda test: client_login(test, 2),
    }

    def check(test):
        try:
            calls[test["call"]](test)
        except Refusal as refusal:
            cv.expect(not cv.valid(test), test, f"refused with {refusal.name} {refusal.fields}")
            carried = {field: test[field] for field in ERROR_FIELDS if field in test}
            cv.expect((refusal.name, refusal.fields) == (test["error"], carried), test,
                      f"expected {test['error']} {carried}, got {refusal.name} {refusal.fields}")
            return
        cv.expect(cv.valid(test), test, "accepted")

    return check
