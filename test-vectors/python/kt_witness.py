"""kt-verify's signed-root decoder, witness key sets, ciphersuites and epoch monitor, re-derived from kt-verify's SPEC
(sections 1.1 to 1.3, 2, 8.1, 8.2, 8.5) without the crate: the witness_signature groups SignedRootDecode, KeySet and
Ciphersuite, and kt_audit's Monitor group. Standard library only; check_vectors.py passes in its helpers
(Ed25519 key rule, witness checks, protobuf writers) so that nothing is written twice.
"""

U64_MAX = 2**64 - 1
CIPHERSUITES = (1, 2)


class DecodeFailure(Exception):
    """A DecodeError (kt-verify SPEC 8.2): its name and fields, as the vectors carry them."""

    def __init__(self, error, **fields):
        super().__init__(error)
        self.named = dict(error=error, **fields)


class Reader:
    """The protobuf subset of kt-verify's proto.rs: varint (0) and length-delimited (2) fields, read in order."""

    def __init__(self, data):
        self.rest = data

    def varint(self):
        value = 0
        for index, byte in enumerate(self.rest[:10]):
            low = byte & 0x7F
            # The tenth byte may carry only the one bit of a u64 left.
            if index == 9 and low > 1:
                raise DecodeFailure("VarintOverflow")
            value |= low << (7 * index)
            if byte < 0x80:
                self.rest = self.rest[index + 1 :]
                return value
        raise DecodeFailure("VarintOverflow" if len(self.rest) >= 10 else "Truncated")

    def field(self):
        """(number, value) of the next field, value an int (varint) or bytes; None at the end."""
        if not self.rest:
            return None
        key = self.varint()
        number = key >> 3
        if number == 0 or number > 2**32 - 1:
            raise DecodeFailure("BadFieldNumber")
        wire_type = key & 7
        if wire_type == 0:
            return number, self.varint()
        if wire_type == 2:
            length = self.varint()
            if length > len(self.rest):
                raise DecodeFailure("Truncated")
            value, self.rest = self.rest[:length], self.rest[length:]
            return number, value
        raise DecodeFailure("UnsupportedWireType", wireType=wire_type)

    def expect(self, number, kind):
        field = self.field()
        if field is None or field[0] != number or not isinstance(field[1], kind):
            raise DecodeFailure("UnexpectedField", expected=number)
        return field[1]

    def finish(self):
        if self.rest:
            raise DecodeFailure("TrailingBytes", count=len(self.rest))


def fixed(data, length):
    if len(data) != length:
        raise DecodeFailure("BadLength", expected=length, found=len(data))
    return data


def root_checks(cv):
    """(decode_signed_root, verify_root), bound to check_vectors.py (`cv`): kt-verify's SignedRoot::from_protobuf and
    WitnessVerifier::verify with one key."""

    def encode_signed_root(root):
        message = cv.plexi_protobuf(root["ciphersuite"], root["namespace"], root["timestampMs"], root["epoch"], root["digest"])
        return cv.pb_bytes(1, message) + cv.pb_bytes(2, root["signature"]) + cv.pb_varint(3, root["keyId"])

    def decode_signed_root(data):
        """SignedRoot::from_protobuf (SPEC 1.2, 8.2): the root's fields, or DecodeFailure. The order is the crate's:
        the outer fields and their end, the message's fields and their end, then the digest's and the signature's
        lengths and key_id's range, then the canonical re-encoding."""
        outer = Reader(data)
        message = outer.expect(1, bytes)
        signature = outer.expect(2, bytes)
        key_id = outer.expect(3, int)
        outer.finish()
        fields = Reader(message)
        ciphersuite = fields.expect(1, int)
        if ciphersuite not in CIPHERSUITES:
            raise DecodeFailure("ValueOutOfRange")
        namespace = fields.expect(2, bytes)
        try:
            namespace.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeFailure("NotUtf8") from None
        timestamp = fields.expect(3, int)
        epoch_reader = Reader(fields.expect(4, bytes))
        epoch = epoch_reader.expect(1, int)
        epoch_reader.finish()
        digest = fields.expect(5, bytes)
        fields.finish()
        root = {
            "ciphersuite": ciphersuite,
            "namespace": namespace,
            "timestampMs": timestamp,
            "epoch": epoch,
            "digest": fixed(digest, 32),
            "signature": fixed(signature, 64),
            "keyId": key_id,
        }
        if key_id > 255:
            raise DecodeFailure("ValueOutOfRange")
        if encode_signed_root(root) != data:
            raise DecodeFailure("NonCanonical")
        return root

    def signed_message(root):
        fields = (root["namespace"], root["timestampMs"], root["epoch"], root["digest"])
        encode = cv.plexi_protobuf if root["ciphersuite"] == 1 else cv.plexi_bincode
        return encode(root["ciphersuite"], *fields)

    def verify_root(root, public_key, namespace, not_before_ms, max_age_ms, now_ms):
        """WitnessVerifier::verify with one key (SPEC 1.3): None, or the WitnessError's name."""
        witness = {
            "publicKey": public_key.hex(),
            "signature": root["signature"].hex(),
            "keyId": root["keyId"],
            "namespace": root["namespace"].decode(),
            "verifierNamespace": namespace,
            "timestampMs": str(root["timestampMs"]),
            "notBeforeMs": str(not_before_ms),
            "maxAgeMs": str(max_age_ms),
            "nowMs": str(now_ms),
        }
        return cv.witness_outcome(witness, signed_message(root))

    return decode_signed_root, verify_root


def make(cv):
    """The group checkers, bound to check_vectors.py (`cv`)."""
    decode_signed_root, verify_root = root_checks(cv)

    def expect_error(test, named):
        """The test names exactly this error: `error` and every field (and no field the error does not have)."""
        fields = ("expected", "found", "wireType", "count", "duplicateKeyId", "id")
        cv.expect(not cv.valid(test), test, f"valid, but the consumer refuses it with {named}")
        got = {key: value for key, value in test.items() if key == "error" or key in fields}
        cv.expect(got == named, test, f"expected {got}, the consumer finds {named}")

    def check_decode(test):
        try:
            decode_signed_root(cv.b(test, "signedRoot"))
        except DecodeFailure as failure:
            expect_error(test, failure.named)
            return
        cv.expect(False, test, "the signed root decodes")

    def check_key_set(test):
        """WitnessKey::new for each key (the key rule, SPEC 1.4), then NoKeys, then DuplicateKeyId (SPEC 1.3 step 0)."""
        cv.u64(test, "notBeforeMs")
        cv.u64(test, "maxAgeMs")
        keys = [bytes.fromhex(key) for key in test["publicKeys"]]
        named = None
        for key in keys:
            rejection = cv.ed_key_rejection(key) if len(key) == 32 else "NotAPoint"
            if rejection is not None:
                named = {"error": {"NonCanonical": "NonCanonicalKey", "SmallOrder": "WeakKey", "NotAPoint": "InvalidKey"}[rejection]}
                break
        if named is None and not keys:
            named = {"error": "NoKeys"}
        if named is None:
            ids = [key[31] for key in keys]
            duplicate = next((key_id for index, key_id in enumerate(ids) if key_id in ids[:index]), None)
            if duplicate is not None:
                named = {"error": "DuplicateKeyId", "duplicateKeyId": duplicate}
        if named is not None:
            expect_error(test, named)
            return
        cv.expect(cv.valid(test), test, "the key set is accepted")
        cv.expect(cv.b(test, "keyIds") == bytes(ids), test, "keyIds")

    def check_ciphersuite(test):
        suite = test["ciphersuite"]
        cv.expect(isinstance(suite, int) and 0 <= suite < 2**32, test, "ciphersuite is a u32")
        if suite in CIPHERSUITES:
            cv.expect(cv.valid(test), test, "a known ciphersuite")
        else:
            expect_error(test, {"error": "UnknownCiphersuite", "id": suite})

    def decode_scan(data):
        """kt-verify's QR payload decoder (SPEC 5, 8.2): (version, local, remote), or DecodeFailure."""

        def logical(inner):
            reader = Reader(inner)
            content = reader.expect(1, bytes)
            reader.finish()
            return fixed(content, 32)

        reader = Reader(data)
        version = reader.expect(1, int)
        if version > 2**32 - 1:
            raise DecodeFailure("ValueOutOfRange")
        local = logical(reader.expect(2, bytes))
        remote = logical(reader.expect(3, bytes))
        reader.finish()
        if cv.qr_payload(version, local, remote) != data:
            raise DecodeFailure("NonCanonical")
        return version, local, remote

    def check_scan(test, local_hash, remote_hash):
        """security_code's QrPayloadScan (SPEC 5): Malformed with the DecodeError (decodeError and its fields), then
        VersionMismatch (ours, theirs), then the comparison (Mismatch)."""
        try:
            version, local, remote = decode_scan(cv.b(test, "scannedPayload"))
        except DecodeFailure as failure:
            fields = dict(failure.named)
            outcome = {"result": "invalid", "error": "Malformed", "decodeError": fields.pop("error"), **fields}
        else:
            if version != test["version"]:
                outcome = {"result": "invalid", "error": "VersionMismatch", "ours": test["version"], "theirs": version}
            elif local == remote_hash[:32] and remote == local_hash[:32]:
                outcome = {"result": "valid"}
            else:
                outcome = {"result": "invalid", "error": "Mismatch"}
        fields = ("result", "error", "decodeError", "expected", "found", "wireType", "count", "ours", "theirs")
        named = {field: test[field] for field in fields if field in test}
        cv.expect(named == outcome, test, f"the scan gives {outcome}, the vector {named}")

    def check_witness_group(group, test):
        """The witness_signature groups beyond WitnessSignature; False for that one."""
        checker = {"SignedRootDecode": check_decode, "KeySet": check_key_set, "Ciphersuite": check_ciphersuite}.get(group["type"])
        if checker is None:
            return False
        checker(test)
        return True

    def check_monitor(test):
        """kt_audit's Monitor group (SPEC 2, 8.5): a new monitor observes the checkpoint, then the offered root."""
        for field in ("maxAgeMs", "nowMs"):
            cv.u64(test, field)
        public_key, namespace = cv.b(test, "witnessPublicKey"), test["namespace"]
        max_age_ms, now_ms = cv.u64(test, "maxAgeMs"), cv.u64(test, "nowMs")

        def verified(field):
            try:
                root = decode_signed_root(cv.b(test, field))
            except DecodeFailure as failure:
                cv.expect(False, test, f"{field} does not decode: {failure.named}")
            refusal = verify_root(root, public_key, namespace, 0, max_age_ms, now_ms)
            cv.expect(refusal is None, test, f"{field} is refused by the witness check: {refusal}")
            return root

        offered = verified("signedRoot")
        if "checkpoint" not in test:
            outcome = {"result": "valid", "observation": "First"}
        else:
            checkpoint = verified("checkpoint")
            outcome = observe(test, checkpoint, offered)
        fields = ("result", "observation", "fromEpoch", "error", "errorCheckpointEpoch", "errorEpoch", "errorCheckpointMs",
                  "errorTimestampMs", "forkFirst", "forkSecond")
        named = {field: test[field] for field in fields if field in test}
        cv.expect(named == outcome, test, f"the monitor gives {outcome}, the vector {named}")

    def audited_chain(test):
        """(start epoch, start root, end epoch, end root) of the audit, its blob names and encodings checked (not akd's
        tree rebuild: kt_audit's AuditChain group says what this consumer checks of a blob)."""
        start, roots, blobs = cv.u64(test, "auditStartEpoch"), test["auditRoots"], test["auditBlobs"]
        cv.expect(len(roots) == len(blobs) + 1 and blobs, test, "auditRoots holds one root more than auditBlobs")
        for index, blob in enumerate(blobs):
            try:
                cv.kt_proofs.decode_canonical(bytes.fromhex(blob), "SingleAppendOnlyProof")
            except cv.kt_proofs.Refusal as refusal:
                cv.expect(False, test, f"audit blob {index} refused: {refusal}")
            cv.expect(all(len(bytes.fromhex(root)) == 32 for root in roots), test, "auditRoots are 32 bytes each")
        return start, bytes.fromhex(roots[0]), start + len(blobs), bytes.fromhex(roots[-1])

    def observe(test, checkpoint, offered):
        """Monitor::observe / observe_audited after the checkpoint, in the SPEC's order."""
        if offered["epoch"] < checkpoint["epoch"]:
            return {"result": "invalid", "error": "Rollback", "errorCheckpointEpoch": str(checkpoint["epoch"]), "errorEpoch": str(offered["epoch"])}
        if offered["epoch"] == checkpoint["epoch"]:
            if offered["digest"] == checkpoint["digest"]:
                return {"result": "valid", "observation": "Unchanged"}
            return {"result": "invalid", "error": "Fork", "forkFirst": test["checkpoint"], "forkSecond": test["signedRoot"]}
        if offered["timestampMs"] < checkpoint["timestampMs"]:
            return {"result": "invalid", "error": "TimestampRegression", "errorCheckpointMs": str(checkpoint["timestampMs"]),
                    "errorTimestampMs": str(offered["timestampMs"])}
        if offered["epoch"] - checkpoint["epoch"] > 1:
            if "auditStartEpoch" not in test:
                return {"result": "invalid", "error": "GapWithoutAudit", "errorCheckpointEpoch": str(checkpoint["epoch"]),
                        "errorEpoch": str(offered["epoch"])}
            if audited_chain(test) != (checkpoint["epoch"], checkpoint["digest"], offered["epoch"], offered["digest"]):
                return {"result": "invalid", "error": "AuditMismatch"}
        elif "auditStartEpoch" in test:
            audited_chain(test)  # a step of one epoch does not read the audit; its blobs are still well formed
        return {"result": "valid", "observation": "Advanced", "fromEpoch": str(checkpoint["epoch"])}

    return check_witness_group, check_monitor, check_scan


# The groups whose outcome fields the self-test alters, per family, and those fields.
SELF_TEST_GROUPS = {
    "witness_signature": ("WitnessSignature", "SignedRootDecode", "KeySet", "Ciphersuite"),
    "kt_audit": ("Monitor", "AuditReject"),
    "ipls_escrow": ("VaultEscrow", "EscrowReject", "EscrowDecode"),
    "kt_lookup": ("KtLookupReject",),
    "security_code": ("QrPayloadScan",),
    "kt_history": ("KtHistoryReject",),
    # backup-protocol, fleet-bundle and ipls (#14's error tables): every group with refusals.
    "fleet_bundle": ("SignedBundle", "DeploymentRecord", "Artifact", "DeploymentLog", "Anchors", "Responder"),
    "ipls_sealing": ("ContactSealing",),
    "vault_messages": ("Api",),
    "opaque_messages": ("OpaqueRejection",),
}
OUTCOME_FIELDS = ("error", "expected", "found", "wireType", "count", "duplicateKeyId", "id", "keyIds", "length", "max",
                  "observation", "fromEpoch", "errorCheckpointEpoch", "errorEpoch", "errorCheckpointMs", "errorTimestampMs",
                  "forkFirst", "forkSecond", "response", "invalidField", "errorKeyId", "errorNotBeforeMs", "errorNowMs",
                  "errorVersion", "errorValueEpoch", "errorNewest", "storedValue", "failure", "errorExpected", "errorFound", "decodeError", "ours", "theirs",
                  "fleetIdError", "index", "keyError", "party", "role", "lastAccepted", "foundFleetId", "artifactError",
                  "jsonError", "line", "column", "keySetError", "recordEpoch", "artifactEpoch", "deploymentError",
                  "lastEpoch", "expectedEpoch", "foundEpoch", "acceptedRecord", "conflictingRecord", "listedAs",
                  "issuedAt", "expiresAt", "what", "failingStep", "refusedBy")


def altered(value):
    """Another value of the same JSON type: a number + 1, a decimal string + 1, a hex string with its last byte
    changed, a name with a letter added."""
    if isinstance(value, int):
        return value + 1
    if value.isdigit():
        return str(int(value) + 1)
    if all(c in "0123456789abcdef" for c in value) and len(value) % 2 == 0 and value:
        return value[:-2] + f"{int(value[-2:], 16) ^ 1:02x}"
    return value + "x"


def outcome_self_test(name, document, checker, errors):
    """Every outcome field (error name and the error's fields, observation) of every test of the family's groups
    above, altered, makes `checker` fail; the tests left unnoticed, as text (none: all caught)."""
    unnoticed = []
    for group in document["testGroups"]:
        if group["type"] not in SELF_TEST_GROUPS.get(name, ()):
            continue
        for test in group["tests"]:
            for field in OUTCOME_FIELDS:
                if field not in test:
                    continue
                try:
                    checker(group, dict(test, **{field: altered(test[field])}))
                except errors:
                    continue
                unnoticed.append(f"{group['type']} tcId {test['tcId']} {field}")
    return unnoticed
