"""fleet_bundle.json's deployment records, artifacts, log, pinned keys and responder checks (fleet-bundle SPEC 6.4,
8, 9, 12.3, 12.5), re-derived without the crate.

The artifact's JSON is read by a parser written here for SPEC 8.2's schema (the `json` module accepts lone
surrogates, duplicate fields and leading zeros, and reports other positions). It reads as the crate does: left to
right, refusing at the first byte that cannot continue the document (Syntax; Eof when the input ends first) or at
the first value of the wrong shape (Data), and reports the line and column the crate reports: the line counted from
1, the column the number of bytes of that line up to and including the byte where the refusal is noticed (see
`Artifact.fail`).

`make(cv)` returns the checkers, given check_vectors' module for its helpers (Disagreement, u64, Ed25519 rules and
the bundle decoder), so that each failure is check_vectors' own.
"""

import hashlib

DEPLOYMENT_WITNESS = b"fleet-bundle/v1/deployment/witness"
DEPLOYMENT_OPERATOR = b"fleet-bundle/v1/deployment/operator"
MAX_ARTIFACT = 1 << 20
MAX_KEYS = 1024
JSON_ROLES = {"response_signing": "ResponseSigning", "opaque_server": "OpaqueServer", "ipls_session": "IplsSession"}
WHITESPACE = b" \t\n\r"
DIGITS = b"0123456789"
ESCAPES = {ord('"'): '"', ord("\\"): "\\", ord("/"): "/", ord("b"): "\b", ord("f"): "\f", ord("n"): "\n",
           ord("r"): "\r", ord("t"): "\t"}

# Every error field of the family: a refusal carries exactly those of its error.
ERROR_FIELDS = ("decodeError", "found", "expected", "fleetIdError", "count", "index", "lastAccepted", "keyError",
                "party", "role", "epoch", "foundFleetId", "length", "max", "artifactError", "jsonError", "line",
                "column", "keySetError", "recordEpoch", "artifactEpoch", "deploymentError", "lastEpoch",
                "expectedEpoch", "foundEpoch", "acceptedRecord", "conflictingRecord", "listedAs", "issuedAt",
                "expiresAt")


class Refusal(Exception):
    """An error name and its fields."""

    def __init__(self, name, **fields):
        super().__init__(name)
        self.name, self.fields = name, fields


class Artifact:
    """SPEC 8.2's document: an object of `fleet_id` (string), `epoch` (u64), `keys` (array of objects of
    `public_key` and `role`, both strings), nothing else, each field once."""

    def __init__(self, data):
        self.data, self.i = data, 0

    def fail(self, kind, at):
        """Refuses with the position of byte offset `at`: the line of that offset, and as column the bytes of that
        line before it. A byte that cannot continue the document is reported with `at` just after it (so its own
        1-based column), the end of input at the end, a value of the wrong shape just after its last byte (just
        before it, if it is an object or an array, which are not read), a missing field after the `}`."""
        start = self.data.rfind(b"\n", 0, at) + 1
        raise Refusal("Json", jsonError=kind, line=self.data.count(b"\n", 0, start) + 1, column=at - start)

    def peek(self):
        while self.i < len(self.data) and self.data[self.i] in WHITESPACE:
            self.i += 1
        return self.data[self.i] if self.i < len(self.data) else None

    def unexpected(self):
        """The byte at `i` cannot continue the document (or there is none)."""
        if self.i >= len(self.data):
            self.fail("Eof", len(self.data))
        self.fail("Syntax", self.i + 1)

    def literal(self, word):
        for expected in word:
            if self.i >= len(self.data):
                self.fail("Eof", len(self.data))
            self.i += 1
            if self.data[self.i - 1] != expected:
                self.fail("Syntax", self.i)

    def hex4(self):
        value = 0
        for _ in range(4):
            if self.i >= len(self.data):
                self.fail("Eof", len(self.data))
            digit = bytes([self.data[self.i]]).lower()
            if digit not in b"0123456789abcdef":
                self.fail("Syntax", self.i + 1)
            self.i += 1
            value = value * 16 + int(digit, 16)
        return value

    def string(self):
        """At a `"`: the string's text, escapes decoded, the raw bytes required to be UTF-8."""
        self.i += 1
        text, run = [], self.i

        def end_run():
            try:
                text.append(self.data[run : self.i].decode("utf-8"))
            except UnicodeDecodeError as error:
                self.fail("Syntax", run + error.start + 1)

        while True:
            if self.i >= len(self.data):
                self.fail("Eof", len(self.data))
            byte = self.data[self.i]
            if byte == ord('"'):
                end_run()
                self.i += 1
                return "".join(text)
            if byte < 0x20:
                self.fail("Syntax", self.i + 1)
            if byte != ord("\\"):
                self.i += 1
                continue
            end_run()
            self.i += 1
            if self.i >= len(self.data):
                self.fail("Eof", len(self.data))
            escape = self.data[self.i]
            self.i += 1
            if escape in ESCAPES:
                text.append(ESCAPES[escape])
            elif escape == ord("u"):
                code = self.hex4()
                if 0xDC00 <= code <= 0xDFFF:
                    self.fail("Syntax", self.i)  # a trailing surrogate without its leading one
                if 0xD800 <= code <= 0xDBFF:
                    # A leading surrogate must be followed by a trailing one, as another \u escape.
                    if self.data[self.i : self.i + 2] != b"\\u":
                        if self.i >= len(self.data):
                            self.fail("Eof", len(self.data))
                        self.fail("Syntax", self.i + 1)
                    self.i += 2
                    low = self.hex4()
                    if not 0xDC00 <= low <= 0xDFFF:
                        self.fail("Syntax", self.i)
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                text.append(chr(code))
            else:
                self.fail("Syntax", self.i)
            run = self.i

    def number(self):
        """At `-` or a digit: (negative, has a fraction or exponent, integer part)."""
        negative = self.data[self.i] == ord("-")
        self.i += negative

        def digits():
            start = self.i
            while self.i < len(self.data) and self.data[self.i] in DIGITS:
                self.i += 1
            return self.data[start : self.i]

        def first_digit():
            if self.i >= len(self.data):
                self.fail("Eof", len(self.data))
            if self.data[self.i] not in DIGITS:
                self.fail("Syntax", self.i + 1)

        first_digit()
        whole = digits()
        if whole[:1] == b"0" and len(whole) > 1:
            self.fail("Syntax", self.i - len(whole) + 2)  # a leading zero: refused at the digit after it
        fraction = False
        if self.i < len(self.data) and self.data[self.i] == ord("."):
            self.i += 1
            first_digit()
            digits()
            fraction = True
        if self.i < len(self.data) and self.data[self.i] in b"eE":
            self.i += 1
            if self.i < len(self.data) and self.data[self.i] in b"+-":
                self.i += 1
            first_digit()
            digits()
            fraction = True
        return negative, fraction, int(whole)

    def wrong_type(self):
        """A value of another type than the schema's where a value starts: read it (but an object or array), then
        refuse it as Data."""
        byte = self.peek()
        if byte is None:
            self.fail("Eof", len(self.data))
        if byte in b"[{":
            self.fail("Data", self.i)
        if byte == ord('"'):
            self.string()
        elif byte == ord("-") or byte in DIGITS:
            self.number()
        elif byte in b"ntf":
            self.literal({ord("n"): b"null", ord("t"): b"true", ord("f"): b"false"}[byte])
        else:
            self.unexpected()
        self.fail("Data", self.i)

    def text(self):
        return self.string() if self.peek() == ord('"') else self.wrong_type()

    def u64(self):
        byte = self.peek()
        if byte is None or not (byte == ord("-") or byte in DIGITS):
            return self.wrong_type()
        negative, fraction, value = self.number()
        if negative or fraction or value >= 1 << 64:
            self.fail("Data", self.i)
        return value

    def sequence(self, item):
        if self.peek() != ord("["):
            return self.wrong_type()
        self.i += 1
        items = []
        while True:
            byte = self.peek()
            if byte == ord("]"):
                self.i += 1
                return items
            if items:
                if byte != ord(","):
                    self.unexpected()
                self.i += 1
                if self.peek() == ord("]"):
                    self.unexpected()  # a trailing comma
            if self.peek() is None:
                self.unexpected()
            items.append(item())

    def object(self, readers):
        """An object of exactly the fields of `readers` (in the order missing ones are reported)."""
        if self.peek() != ord("{"):
            return self.wrong_type()
        self.i += 1
        values = {}
        first = True
        while True:
            byte = self.peek()
            if byte == ord("}"):
                break
            if not first:
                if byte != ord(","):
                    self.unexpected()
                self.i += 1
                byte = self.peek()
            first = False
            if byte != ord('"'):
                self.unexpected()  # the end, a trailing comma, or a key that is not a string
            key = self.string()
            if key not in readers or key in values:
                # Refused once the key is read; the position after the whitespace and a `}` that may follow it.
                if self.peek() == ord("}"):
                    self.i += 1
                self.fail("Data", self.i)
            if self.peek() != ord(":"):
                self.unexpected()
            self.i += 1
            values[key] = readers[key]()
        self.i += 1
        if any(name not in values for name in readers):
            self.fail("Data", self.i)
        return values

    def document(self):
        key = lambda: self.object({"public_key": self.text, "role": self.text})  # noqa: E731
        values = self.object({"fleet_id": self.text, "epoch": self.u64, "keys": lambda: self.sequence(key)})
        if self.peek() is not None:
            self.unexpected()
        return values


def make(cv):
    def parse_artifact(data):
        """SPEC 8.2, in its error order: (fleet id, epoch, keys sorted by key bytes as (role, key)), or Refusal."""
        if len(data) > MAX_ARTIFACT:
            raise Refusal("TooLarge", length=len(data), max=MAX_ARTIFACT)
        document = Artifact(data).document()
        fleet_id = document["fleet_id"].encode()
        error = cv.fleet_id_error(fleet_id)
        if error:
            raise Refusal("FleetId", **error)
        if len(document["keys"]) > MAX_KEYS:
            raise Refusal("KeySet", keySetError="TooMany", count=len(document["keys"]))
        keys = []
        for index, entry in enumerate(document["keys"]):
            text = entry["public_key"]
            if len(text.encode()) != 64 or any(c not in "0123456789abcdef" for c in text):
                raise Refusal("PublicKeyEncoding", index=index)
            if entry["role"] not in JSON_ROLES:
                raise Refusal("UnknownRole", index=index)
            role, key = JSON_ROLES[entry["role"]], bytes.fromhex(text)
            error = cv.received_key_error(role, key)
            if error:
                raise Refusal("InvalidKey", index=index, keyError=error)
            keys.append((role, key))
        if not keys:
            raise Refusal("KeySet", keySetError="Empty")
        keys.sort(key=lambda entry: entry[1])
        if any(a[1] == b[1] for a, b in zip(keys, keys[1:])):
            raise Refusal("KeySet", keySetError="DuplicateKey")
        return fleet_id, document["epoch"], keys

    def canonical(fleet_id, epoch, keys):
        names = {name: json for json, name in JSON_ROLES.items()}
        entries = ",".join(f'{{"public_key":"{key.hex()}","role":"{names[role]}"}}' for role, key in keys)
        return f'{{"fleet_id":"{fleet_id.decode()}","epoch":{epoch},"keys":[{entries}]}}'.encode()

    def artifact_of(test):
        return cv.b(test, "artifact") + b" " * test.get("artifactPadding", 0)

    def decode_record(wire):
        """SPEC 5 and 8.1: (body, witness signature, operator signature, fleet id, epoch, artifact digest)."""
        take, header, finish = cv.bundle_reader(wire, 0x04)
        header()
        body = take(int.from_bytes(take(2), "big"))
        witness_sig, operator_sig = take(64), take(64)
        finish()
        take, header, finish = cv.bundle_reader(body, 0x03)
        header()
        fleet_id = take(take(1)[0])
        error = cv.fleet_id_error(fleet_id)
        if error:
            raise cv.Malformed({"decodeError": "FleetId", **error})
        epoch, digest = int.from_bytes(take(8), "big"), take(32)
        finish()
        return body, witness_sig, operator_sig, fleet_id, epoch, digest

    def verify_deployment(test, wire, artifact):
        """SPEC 8.3, steps 1 to 9: (outputs of an accepted record, its epoch, artifact digest), or Refusal."""
        try:
            body, witness_sig, operator_sig, fleet_id, epoch, digest = decode_record(wire)
        except cv.Malformed as error:
            raise Refusal("Malformed", **error.args[0])
        if fleet_id != test["fleetId"].encode():
            raise Refusal("UnknownFleet", foundFleetId=fleet_id.decode())
        witness, operator = cv.b(test, "witnessKey"), cv.b(test, "operatorKey")
        if not cv.ed25519_verifies(witness, DEPLOYMENT_WITNESS + body, witness_sig):
            raise Refusal("BadWitnessSignature")
        if not cv.ed25519_verifies(operator, DEPLOYMENT_OPERATOR + body + witness_sig, operator_sig):
            for other in (DEPLOYMENT_OPERATOR + body, DEPLOYMENT_WITNESS + body):
                if cv.ed25519_verifies(operator, other, operator_sig):
                    raise Refusal("CounterSignatureOverOtherBytes")
            raise Refusal("BadCounterSignature")
        if len(artifact) > MAX_ARTIFACT:
            raise Refusal("ArtifactTooLarge", length=len(artifact), max=MAX_ARTIFACT)
        if hashlib.sha256(artifact).digest() != digest:
            raise Refusal("DigestMismatch")
        try:
            artifact_fleet, artifact_epoch, keys = parse_artifact(artifact)
        except Refusal as refusal:
            raise Refusal("Artifact", artifactError=refusal.name, **refusal.fields)
        if artifact_fleet != fleet_id:
            raise Refusal("ArtifactFleetMismatch", foundFleetId=artifact_fleet.decode())
        if artifact_epoch != epoch:
            raise Refusal("ArtifactEpochMismatch", recordEpoch=str(epoch), artifactEpoch=str(artifact_epoch))
        for role, key in keys:
            for party, pinned in (("Witness", witness), ("Operator", operator)):
                if key == pinned:
                    raise Refusal("KeyWithWrongRole", party=party, role=role)
        outputs = {
            "body": body.hex(), "witnessSignedBytes": (DEPLOYMENT_WITNESS + body).hex(),
            "witnessSignature": witness_sig.hex(),
            "operatorSignedBytes": (DEPLOYMENT_OPERATOR + body + witness_sig).hex(), "epoch": str(epoch),
        }
        return outputs, epoch, digest

    def deployment(test):
        return verify_deployment(test, cv.b(test, "signedRecord"), artifact_of(test))[0]

    def artifact(test):
        fleet_id, epoch, keys = parse_artifact(artifact_of(test))
        return {"canonical": canonical(fleet_id, epoch, keys).hex(), "epoch": str(epoch)}

    def log(test):
        """SPEC 9: every observation but the last accepted; the last's outcome."""
        records, artifacts = test["signedRecords"], test["artifacts"]
        cv.expect(records and len(records) == len(artifacts), test, "signedRecords and artifacts")
        last = None
        for index, (record, data) in enumerate(zip(records, artifacts)):
            final = index == len(records) - 1
            try:
                _, epoch, digest = verify_deployment(test, bytes.fromhex(record), bytes.fromhex(data))
            except Refusal as refusal:
                if not final:
                    raise cv.Disagreement(f"tcId {test['tcId']}: observation {index} refused: {refusal.name}")
                raise Refusal("Deployment", deploymentError=refusal.name, **refusal.fields)
            if last is not None:
                last_epoch, last_digest, last_record = last
                failure = None
                if epoch == last_epoch and digest == last_digest:
                    failure = Refusal("Replay", epoch=str(epoch))
                elif epoch == last_epoch:
                    failure = Refusal("Equivocation", epoch=str(epoch), acceptedRecord=last_record,
                                      conflictingRecord=record)
                elif epoch < last_epoch:
                    failure = Refusal("NotIncreasing", epoch=str(epoch), lastEpoch=str(last_epoch))
                elif epoch != last_epoch + 1:
                    failure = Refusal("Gap", expectedEpoch=str(min(last_epoch + 1, (1 << 64) - 1)),
                                      foundEpoch=str(epoch))
                if failure:
                    if not final:
                        raise cv.Disagreement(f"tcId {test['tcId']}: observation {index} refused: {failure.name}")
                    raise failure
            last = (epoch, digest, record)
        return {"epoch": str(last[0])}

    def anchors(test):
        """SPEC 12.3: each pinned key by 7.1's rule, the witness's first, then whether they are equal."""
        names = {"NonCanonical": "NonCanonicalEncoding", "SmallOrder": "SmallOrder", "NotAPoint": "NotAPoint"}
        for party in ("witness", "operator"):
            rejection = cv.ed_key_rejection(cv.b(test, party + "Key"))
            if rejection:
                raise Refusal("InvalidKey", party=party.capitalize(), keyError=names[rejection])
        if test["witnessKey"] == test["operatorKey"]:
            raise Refusal("SameKey")
        return {}

    def responder(test):
        """SPEC 6.4, on the bundle as verified at `now`."""
        outcome = cv.verify_bundle(test)
        cv.expect(outcome is None, test, f"the bundle is refused: {outcome}")
        _, _, _, _, _, issued_at, expires_at, keys = cv.decode_bundle(cv.b(test, "signedBundle"))
        now = cv.u64(test, "responderNow")
        if now < issued_at:
            raise Refusal("NotYetValid", issuedAt=str(issued_at))
        if now >= expires_at:
            raise Refusal("Expired", expiresAt=str(expires_at))
        listed = [role for role, key in keys if key == cv.b(test, "responderKey")]
        if not listed:
            raise Refusal("NotInBundle")
        if listed[0] != test["responderRole"]:
            raise Refusal("WrongRole", listedAs=listed[0])
        return {}

    checks = {"DeploymentRecord": deployment, "Artifact": artifact, "DeploymentLog": log, "Anchors": anchors,
              "Responder": responder}

    def check(group, test):
        """Checks a test of a group other than SignedBundle; False for a SignedBundle test."""
        if group["type"] not in checks:
            return False
        try:
            outputs = checks[group["type"]](test)
        except Refusal as refusal:
            cv.expect(not cv.valid(test), test, f"refused with {refusal.name} {refusal.fields}")
            carried = {field: test[field] for field in ERROR_FIELDS if field in test}
            cv.expect((refusal.name, refusal.fields) == (test["error"], carried), test,
                      f"expected {test['error']} {carried}, got {refusal.name} {refusal.fields}")
            return True
        cv.expect(cv.valid(test), test, "accepted")
        differing = [field for field, value in outputs.items() if test.get(field) != value]
        cv.expect(not differing, test, f"differs: {differing}")
        return True

    return check
