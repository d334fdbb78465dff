"""Consumer of ipls_escrow.json's VaultEscrow group (vault-core SPEC sections 3, 4, 11, 12, 13; ipls SPEC 6-9;
kt-verify SPEC 1, 3), without the crates.

Each test is a fresh vault: a key file (SPEC 2, type 0x64: the IPLS X25519 secret is its last 32 bytes) and, where
the test carries them, key-transparency trust. This consumer replays the setup commands and then the tested command
as vault-core applies them, keeping the state they touch (escrow sessions by owner and challenge, escrowed contact
keys, the newest accepted root), and computes each response byte for byte (IplsChallenge with the vault's draws from
ChaCha20 keyed with the command's entropy, IplsReply, RootObserved) or the refusal with every field of it:
Command(DecodeError), Forbidden, KeyTransparencyNotConfigured, NoPendingRegistration, ChallengeExpired and
Protocol(UserMismatch) for a RegistrationFinish on a seeded store, UnknownSession, SessionExpired, Ipls(...) (vault key,
key share, AES-GCM opening, payload layout, the account key rule, the strict signature), Identity(...) (the signed
root decoded and witness-checked by kt_witness, the lookup's pre-checks, BLAKE3 leaves and Merkle paths by
kt_proofs, the value against the account key, the head rule), AlreadyEscrowed and NotEscrowed.

What it does not run: the lookup's VRF (ECVRF-EDWARDS25519-SHA512-TAI), which binds the proof to label = account id;
so it cannot tell which of akd_core's checks refuses a proof whose Merkle paths hold (no vector of the group has one).

check_vectors.py builds the checker with its own helpers: make(sys.modules[__name__]).
"""

import hashlib

import kt_proofs
import kt_witness
import vault_replica
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ESCROW_TTL_MS = 2 * 60 * 1000  # VaultConfig::default().escrow_ttl_ms (vault-core SPEC 9)
KINDS = {"RegistrationFinish": 2, "IplsHello": 5, "IplsAuth": 6, "ObserveRoot": 8}
CHALLENGE_TTL_MS = 10 * 60 * 1000  # VaultConfig::default().challenge_ttl_ms
RESPONSE = {"IplsChallenge": 6, "IplsReply": 7, "RootObserved": 9}
NONCE_FIRST, NONCE_SECOND = bytes(12), bytes(11) + b"\x01"
CORRUPT = object()  # a seeded stored value that does not decode


class Refusal(Exception):
    """The vault's refusal: the vector's fields (error and the error's fields)."""

    def __init__(self, error, **fields):
        super().__init__(error)
        self.fields = {"error": error, **fields}


def make(cv):
    decode_signed_root, verify_root = kt_witness.root_checks(cv)

    def response(kind, body):
        return bytes([cv.VERSION, cv.RESPONSE_TYPE, RESPONSE[kind]]) + body

    class Vault:
        def __init__(self, test):
            key_file = cv.b(test, "keyFile")
            cv.expect(key_file[:2] == bytes([cv.VERSION, 0x64]) and len(key_file) == 4 + int.from_bytes(key_file[2:4], "big") + 32,
                      test, "keyFile framing")
            self.secret = key_file[-32:]
            self.trust = None
            if "witnessPublicKey" in test:
                self.trust = {field: test[field] for field in ("namespace", "vrfPublicKey")}
                self.trust.update(witness=cv.b(test, "witnessPublicKey"), notBefore=cv.u64(test, "witnessNotBeforeMs"),
                                  maxAge=cv.u64(test, "maxAgeMs"))
            self.sessions, self.escrowed, self.head, self.pending = {}, {}, None, {}
            # A seeded store (SPEC 2): kt-head and escrowed contact keys, each decoded as the vault reads it; one that
            # does not decode is kept as CORRUPT, which the read that meets it reports.
            keys, values = test.get("storeKeys", []), test.get("storeValues", [])
            cv.expect(len(keys) == len(values), test, "storeKeys and storeValues differ in length")
            for key, value in zip(map(bytes.fromhex, keys), map(bytes.fromhex, values)):
                if key == b"kt-head":
                    ok = len(value) == 42 and value[:2] == bytes([cv.VERSION, 0x67])
                    self.head = (int.from_bytes(value[2:10], "big"), value[10:]) if ok else CORRUPT
                elif key.startswith(b"pending/"):
                    self.pending[key[8:]] = value  # decoded when RegistrationFinish reads it
                elif key.startswith(b"ipls/"):
                    ok = len(value) == 34 and value[:2] == bytes([cv.VERSION, 0x65])
                    self.escrowed[key[5:]] = value[2:] if ok else CORRUPT
                else:
                    raise cv.Disagreement(f"tcId {test['tcId']}: this consumer seeds kt-head, pending/ and ipls/ entries only")

        def apply(self, data):
            """The response bytes, or raises Refusal."""
            try:
                fields = cv.decode_command(data)
            except cv.Refused as refused:
                error = refused.fields.pop("error")
                raise Refusal(f"Command({error})", **refused.fields) from None
            if fields["authorization"] == "Forbidden":
                raise Refusal("Forbidden")
            kind, at_ms, message = fields["kindName"], int(fields["atMs"]), bytes.fromhex(fields["message"])
            if kind not in KINDS:
                raise cv.Disagreement(f"a {kind} command in the VaultEscrow group: this consumer replays IPLS and ObserveRoot")
            if kind == "RegistrationFinish":
                return self.registration_finish(bytes.fromhex(fields["accountId"]), bytes.fromhex(fields["messageUserId"]), at_ms)
            if self.trust is None:
                raise Refusal("KeyTransparencyNotConfigured")
            if kind == "ObserveRoot":
                root = self.verified_root(message, at_ms)
                self.advance(root)
                return response("RootObserved", root["epoch"].to_bytes(8, "big"))
            owner = bytes.fromhex(fields["accountId"])
            if kind == "IplsHello":
                return self.hello(owner, message, bytes.fromhex(fields["entropy"]), at_ms)
            return self.auth(owner, message, at_ms)

        def registration_finish(self, owner, user, at_ms):
            """SPEC 4 RegistrationFinish steps 1 and 2 up to backup-protocol's same-user check: the pending
            registration stored under the upload's user (SPEC 2: 0x01 0x62 issued_at_ms (8) len16 PendingRegistration,
            which is 0x01 0x22 len8(user id) user id challenge (32)), its age, then its user against the upload's.
            What follows (the challenge, the Argon2id policy, the record) is not replayed: no test of the group gets
            there."""
            stored = self.pending.get(user)
            if stored is None:
                raise Refusal("NoPendingRegistration")
            nested = stored[12:]
            if not (stored[:2] == bytes([cv.VERSION, 0x62]) and len(stored) >= 12 and int.from_bytes(stored[10:12], "big") == len(nested)
                    and len(nested) >= 3 and nested[:2] == bytes([cv.VERSION, 0x22]) and nested[2] >= 1 and len(nested) == 3 + nested[2] + 32):
                raise Refusal("Corrupt", storedValue="pending registration")
            if at_ms - int.from_bytes(stored[2:10], "big") > CHALLENGE_TTL_MS:
                raise Refusal("ChallengeExpired")
            if nested[3 : 3 + nested[2]] != user:
                raise Refusal("Protocol(UserMismatch)")
            raise cv.Disagreement("a registration upload that passes the same-user check: not replayed by this consumer")

        def verified_root(self, signed_root, at_ms):
            try:
                root = decode_signed_root(signed_root)
            except kt_witness.DecodeFailure as failure:
                error = failure.named.pop("error")
                raise Refusal(f"Identity(Root({error}))", **failure.named) from None
            trust = self.trust
            refused = verify_root(root, trust["witness"], trust["namespace"], trust["notBefore"], trust["maxAge"], at_ms)
            if refused is not None:
                fields = {
                    "UnknownKeyId": {"errorKeyId": root["keyId"]},
                    "KeyNotYetValid": {"errorTimestampMs": str(root["timestampMs"]), "errorNotBeforeMs": str(trust["notBefore"])},
                    "FromTheFuture": {"errorTimestampMs": str(root["timestampMs"]), "errorNowMs": str(at_ms)},
                    "Stale": {"errorTimestampMs": str(root["timestampMs"]), "errorNowMs": str(at_ms)},
                }.get(refused, {})
                raise Refusal(f"Identity(Witness({refused}))", **fields)
            return root

        def head_rule(self, root):
            if self.head is CORRUPT:
                raise Refusal("Corrupt", storedValue="key-transparency head")
            if self.head is not None:
                epoch, digest = self.head
                if root["epoch"] < epoch:
                    raise Refusal("Identity(StaleRoot)", errorEpoch=str(root["epoch"]), errorNewest=str(epoch))
                if root["epoch"] == epoch and root["digest"] != digest:
                    raise Refusal("Identity(ForkedRoot)", errorEpoch=str(epoch))

        def advance(self, root):
            self.head_rule(root)
            if self.head is None or root["epoch"] > self.head[0]:
                self.head = (root["epoch"], root["digest"])

        def hello(self, owner, hello, entropy, at_ms):
            """ipls SPEC 7: the vault key, then the draws (challenge, ephemeral secret), then the shares."""
            if hello[3:35] != cv.x25519_public(self.secret):
                raise Refusal("Ipls(WrongVaultKey)")
            draws = vault_replica.keystream(entropy, 64)
            challenge, ephemeral = draws[:32], draws[32:]
            try:
                static_shared = cv.x25519(self.secret, hello[35:67])
                ephemeral_shared = cv.x25519(ephemeral, hello[35:67])
            except cv.Refused:
                raise Refusal("Ipls(WeakKeyShare)") from None
            body = bytes([cv.VERSION, 0x73]) + challenge + cv.x25519_public(ephemeral)
            _, to_vault, to_device = cv.escrow_keys(static_shared, ephemeral_shared, hello, body)
            th = cv.escrow_transcript(hello, body)
            confirmation = AESGCM(to_device).encrypt(NONCE_FIRST, b"", b"ipls/v1/escrow-confirm" + th)
            self.sessions[(owner, challenge)] = {"hello": hello, "at": at_ms, "toVault": to_vault, "toDevice": to_device, "th": th}
            return response("IplsChallenge", body + confirmation)

        def auth(self, owner, auth, at_ms):
            session = self.sessions.get((owner, auth[2:34]))
            if session is None:
                raise Refusal("UnknownSession")
            if at_ms - session["at"] > ESCROW_TTL_MS:
                raise Refusal("SessionExpired")
            th = session["th"]
            try:
                payload = AESGCM(session["toVault"]).decrypt(NONCE_FIRST, auth[34:], b"ipls/v1/escrow-auth" + th)
            except InvalidTag:
                raise Refusal("Ipls(Rejected)") from None
            upload = session["hello"][2] == 0x01
            reader = cv.ByteReader(payload)
            try:
                account_key, signature = reader.take(32), reader.take(64)
                signed_root = reader.take(reader.integer(2))
                lookup = reader.take(reader.integer(2))
                contact_key = reader.take(32) if upload else None
                reader.finish()
            except cv.Refused as refused:
                raise Refusal(f"Ipls({refused.fields['error']})") from None
            if cv.ed_key_rejection(account_key) is not None:
                raise Refusal("Ipls(InvalidAccountKey)")
            if not cv.ed25519_strict(account_key, b"ipls/v1/escrow-account-signature" + th, signature):
                raise Refusal("Ipls(BadSignature)")
            account = session["hello"][68:]
            if account != owner:
                raise Refusal("Forbidden")
            root = self.verified_root(signed_root, at_ms)
            self.check_lookup(root, account_key, lookup)
            self.head_rule(root)
            if self.escrowed.get(account) is CORRUPT:
                raise Refusal("Corrupt", storedValue="escrowed contact key")
            if upload and account in self.escrowed:
                raise Refusal("AlreadyEscrowed")
            if not upload and account not in self.escrowed:
                raise Refusal("NotEscrowed")
            self.advance(root)
            if upload:
                self.escrowed[account] = contact_key
            del self.sessions[(owner, auth[2:34])]
            th_reply = hashlib.sha256(b"ipls/v1/escrow-transcript" + th + auth).digest()
            plaintext = b"" if upload else self.escrowed[account]
            sealed = AESGCM(session["toDevice"]).encrypt(NONCE_SECOND, plaintext, b"ipls/v1/escrow-reply" + th_reply)
            return response("IplsReply", bytes([cv.VERSION, 0x75]) + sealed)

        def check_lookup(self, root, account_key, lookup):
            """kt-verify SPEC 3 on label = the account (not the VRF), then the value against the account key."""
            lookup_test = {"vrfPublicKey": self.trust["vrfPublicKey"], "proof": lookup.hex(), "epoch": str(root["epoch"]),
                           "rootHash": root["digest"].hex()}
            try:
                versions, binds = kt_proofs.lookup_outcome(lookup_test, cv.vrf_key_point)
            except kt_proofs.Refusal as refusal:
                fields = refusal.args[1] if len(refusal.args) > 1 else {}
                raise Refusal(f"Identity(Lookup({refusal.args[0]}))", **fields) from None
            if not binds:
                raise Refusal("Identity(Lookup(Rejected))")
            if versions[0][2] != account_key:
                raise Refusal("Identity(KeyMismatch)")

    OUTCOME_FIELDS = ("result", "response", "error", "storedValue", "invalidField", "found", "expected", "wireType", "count", "errorKeyId",
                      "errorTimestampMs", "errorNotBeforeMs", "errorNowMs", "errorVersion", "errorValueEpoch", "errorEpoch",
                      "errorNewest")

    def check_vault_escrow(test):
        for field in ("witnessNotBeforeMs", "maxAgeMs"):
            if field in test:
                cv.u64(test, field)
        vault = Vault(test)
        setup, responses = test["setupCommands"], test["setupResponses"]
        cv.expect(len(setup) == len(responses), test, "one response per setup command")
        for index, (command, answer) in enumerate(zip(setup, responses)):
            try:
                got = vault.apply(bytes.fromhex(command))
            except Refusal as refusal:
                cv.expect(False, test, f"setup command {index} refused: {refusal.fields}")
            cv.expect(got.hex() == answer, test, f"setup response {index}")
        try:
            outcome = {"result": "valid", "response": vault.apply(cv.b(test, "command")).hex()}
        except Refusal as refusal:
            outcome = {"result": "invalid", **refusal.fields}
        named = {field: test[field] for field in OUTCOME_FIELDS if field in test}
        cv.expect(named == outcome, test, f"the vault gives {outcome}, the vector {named}")

    return check_vault_escrow
