"""Checks of the akd proof families (kt_lookup, kt_history, kt_audit) for check_vectors.py.

What it re-derives, from kt-verify's SPEC (§3, §4) and akd_core's `proto/specs/types.proto` alone:

* every proof and blob decoded by hand, each nested message included, as rust-protobuf and akd_core's conversion
  read them: `Malformed` when the bytes do not parse, a required field is missing, a hash is not 32 bytes, a label
  longer than 32 bytes or 256 bits, a sibling proof without siblings or with a direction other than 0 or 1 (after
  masking with 0x0f); `NonCanonical` when re-encoding what akd keeps (fields in order, minimal varints, labels
  without trailing zero bytes, only the first sibling, the masked direction, no unknown fields) is not the input, or
  the top step of a Merkle path does not have the root label;
* kt-verify's checks before akd_core: the VRF key is a curve point (`InvalidVrfKey`), `ZeroVersion`,
  `VersionOutOfRange`, `VersionAfterEpoch`, `ValueEpochAfterRoot`, `EmptyHistory`;
* BLAKE3 (written out here: hashlib has none) and the Merkle paths: each committed value (its leaf,
  H(H(i2osp(value) || i2osp(nonce)) || epoch)) and every membership path leads to rootHash, and each non-membership
  proof's longest prefix hashes from its two children and leads to rootHash;
* the result of a valid proof: epoch, version and value (each version of a history, newest first) are the decoded
  proof's;
* audit blob names, the chain rules (`EpochGap`, `ChainBroken`, `ChainEnded`) and the chain after each blob.

What it does not re-derive: the VRF (ECVRF-EDWARDS25519-SHA512-TAI), which binds the label and version to the tree
position, so labels and VRF keys are checked by the Rust consumer alone; akd_core's version arithmetic (marker
versions) and label and prefix comparisons; akd's tree rebuild for an audit. For a vector whose error is `Rejected`,
it checks that none of the checks above refuses it before akd_core, and that the `failure` is one it does not run
when the BLAKE3 paths hold.
"""

DIRECTION_MASK = 0x0F

# Message layouts: field number -> (name, kind, repeated). Kinds: "u64", "u32", "bytes" or a message name.
MESSAGES = {
    "NodeLabel": {1: ("label_val", "bytes", False), 2: ("label_len", "u32", False)},
    "AzksElement": {1: ("label", "NodeLabel", False), 2: ("value", "bytes", False)},
    "SiblingProof": {1: ("label", "NodeLabel", False), 2: ("siblings", "AzksElement", True), 3: ("direction", "u32", False)},
    "MembershipProof": {1: ("label", "NodeLabel", False), 2: ("hash_val", "bytes", False), 3: ("sibling_proofs", "SiblingProof", True)},
    "NonMembershipProof": {
        1: ("label", "NodeLabel", False),
        2: ("longest_prefix", "NodeLabel", False),
        3: ("longest_prefix_children", "AzksElement", True),
        4: ("longest_prefix_membership_proof", "MembershipProof", False),
    },
    "LookupProof": {
        1: ("epoch", "u64", False),
        2: ("value", "bytes", False),
        3: ("version", "u64", False),
        4: ("existence_vrf_proof", "bytes", False),
        5: ("existence_proof", "MembershipProof", False),
        6: ("marker_vrf_proof", "bytes", False),
        7: ("marker_proof", "MembershipProof", False),
        8: ("freshness_vrf_proof", "bytes", False),
        9: ("freshness_proof", "NonMembershipProof", False),
        10: ("commitment_nonce", "bytes", False),
    },
    "UpdateProof": {
        1: ("epoch", "u64", False),
        2: ("value", "bytes", False),
        3: ("version", "u64", False),
        4: ("existence_vrf_proof", "bytes", False),
        5: ("existence_proof", "MembershipProof", False),
        6: ("previous_version_vrf_proof", "bytes", False),
        7: ("previous_version_proof", "MembershipProof", False),
        8: ("commitment_nonce", "bytes", False),
    },
    "HistoryProof": {
        1: ("update_proofs", "UpdateProof", True),
        2: ("past_marker_vrf_proofs", "bytes", True),
        3: ("existence_of_past_marker_proofs", "MembershipProof", True),
        4: ("future_marker_vrf_proofs", "bytes", True),
        5: ("non_existence_of_future_marker_proofs", "NonMembershipProof", True),
    },
    "SingleAppendOnlyProof": {1: ("inserted", "AzksElement", True), 2: ("unchanged_nodes", "AzksElement", True)},
}
# Fields akd_core's conversion requires (the others: UpdateProof's previous-version pair, and repeated fields).
OPTIONAL = {("UpdateProof", "previous_version_vrf_proof"), ("UpdateProof", "previous_version_proof")}
HASHES = {("AzksElement", "value"), ("MembershipProof", "hash_val")}


class Refusal(Exception):
    """A proof refused before akd_core's verification, with kt-verify's error name."""


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data, i):
    value = 0
    for shift in range(0, 70, 7):
        if i >= len(data):
            raise Refusal("Malformed")
        value |= (data[i] & 0x7F) << shift
        i += 1
        if data[i - 1] < 0x80:
            if value >= 1 << 64:
                raise Refusal("Malformed")
            return value, i
    raise Refusal("Malformed")


def decode(data, message):
    """Decodes like rust-protobuf: known (field, wire type) pairs, unknown fields skipped and noted, last one wins."""
    layout, fields, i, unknown = MESSAGES[message], {}, 0, False
    while i < len(data):
        tag, i = read_varint(data, i)
        number, wire = tag >> 3, tag & 7
        if number == 0 or number >= 1 << 29:
            raise Refusal("Malformed")
        known = layout.get(number)
        expected_wire = None if known is None else (0 if known[1] in ("u64", "u32") else 2)
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            if i + length > len(data):
                raise Refusal("Malformed")
            value, i = data[i : i + length], i + length
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
            if i > len(data):
                raise Refusal("Malformed")
        else:
            raise Refusal("Malformed")  # groups and wire types 6, 7: not in these messages
        if known is None or wire != expected_wire:
            unknown = True
            continue
        name, kind, repeated = known
        if kind == "u32":
            value &= 0xFFFFFFFF
        elif kind in MESSAGES:
            value = decode(value, kind)
        if repeated:
            fields.setdefault(name, []).append(value)
        else:
            fields[name] = value
    fields["_unknown"] = unknown
    return convert(fields, message)


def convert(fields, message):
    """akd_core's conversion: required fields, lengths; returns what akd keeps."""
    for name, kind, repeated in MESSAGES[message].values():
        if repeated:
            fields.setdefault(name, [])
        elif name not in fields and (message, name) not in OPTIONAL:
            raise Refusal("Malformed")
        if (message, name) in HASHES and len(fields[name]) != 32:
            raise Refusal("Malformed")
    if message == "NodeLabel" and (len(fields["label_val"]) > 32 or fields["label_len"] > 256):
        raise Refusal("Malformed")
    if message == "SiblingProof":
        if not fields["siblings"] or fields["direction"] & DIRECTION_MASK > 1:
            raise Refusal("Malformed")
    return fields


def encode(fields, message):
    """akd's encoding of what it kept (the canonical encoding)."""
    out = bytearray()
    for number, (name, kind, repeated) in sorted(MESSAGES[message].items()):
        values = fields.get(name, []) if repeated else ([fields[name]] if name in fields else [])
        if message == "SiblingProof" and name == "siblings":
            values = values[:1]
        for value in values:
            if kind in ("u64", "u32"):
                if message == "SiblingProof":
                    value &= DIRECTION_MASK
                out += varint(number << 3) + varint(value)
                continue
            if kind in MESSAGES:
                value = encode(value, kind)
            elif message == "NodeLabel":
                value = value.rstrip(b"\0")
            out += varint(number << 3 | 2) + varint(len(value)) + value
    return bytes(out)


def decode_canonical(data, message):
    decoded = decode(data, message)
    if encode(decoded, message) != data:
        raise Refusal("NonCanonical")
    return decoded


def check_root_label(membership_proofs):
    for proof in membership_proofs:
        steps = proof["sibling_proofs"]
        if steps and (steps[0]["label"]["label_len"] != 0 or steps[0]["label"]["label_val"].strip(b"\0")):
            raise Refusal("NonCanonical")


# BLAKE3 (WhatsAppV1Configuration's hash), for inputs of one chunk (at most 1024 bytes: every hash here is shorter).
B3_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
B3_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
B3_G = ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15), (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))


def blake3(data):
    assert len(data) <= 1024, "one chunk"
    mask, cv = 0xFFFFFFFF, list(B3_IV)
    blocks = [data[i : i + 64] for i in range(0, len(data), 64)] or [b""]
    rotr = lambda x, n: (x >> n | x << (32 - n)) & mask  # noqa: E731
    for index, block in enumerate(blocks):
        flags = (1 if index == 0 else 0) | (2 | 8 if index == len(blocks) - 1 else 0)
        m = [int.from_bytes(block.ljust(64, b"\0")[i : i + 4], "little") for i in range(0, 64, 4)]
        v = cv + list(B3_IV[:4]) + [0, 0, len(block), flags]
        for _ in range(7):
            for j, (a, b, c, d) in enumerate(B3_G):
                for x, (r1, r2) in ((m[2 * j], (16, 12)), (m[2 * j + 1], (8, 7))):
                    v[a] = (v[a] + v[b] + x) & mask
                    v[d] = rotr(v[d] ^ v[a], r1)
                    v[c] = (v[c] + v[d]) & mask
                    v[b] = rotr(v[b] ^ v[c], r2)
            m = [m[i] for i in B3_PERMUTATION]
        cv = [v[i] ^ v[i + 8] for i in range(8)]
    return b"".join(word.to_bytes(4, "little") for word in cv)


def label_value(label):
    return blake3(label["label_len"].to_bytes(4, "big") + label["label_val"].ljust(32, b"\0"))


def children_hash(left, right):
    """akd's parent hash of two (value, label) children."""
    return blake3(b"".join(blake3(value + label_value(label)) for value, label in (left, right)))


def i2osp(data):
    return len(data).to_bytes(8, "big") + data


def merkle_root(proof):
    """The root hash a membership proof leads to (akd_core verify_membership)."""
    value, label = proof["hash_val"], proof["label"]
    for step in reversed(proof["sibling_proofs"]):
        sibling = step["siblings"][0]
        ours, theirs = (value, label), (sibling["value"], sibling["label"])
        value = children_hash(*((ours, theirs) if step["direction"] & DIRECTION_MASK == 0 else (theirs, ours)))
        label = step["label"]
    return blake3(value + label_value({"label_len": 0, "label_val": b""}))


def committed(root, value, epoch, nonce, existence):
    """Whether `value` at `epoch` with the commitment nonce is the leaf of `existence`, and its path leads to `root`."""
    leaf = blake3(blake3(i2osp(value) + i2osp(nonce)) + epoch.to_bytes(8, "big"))
    return leaf == existence["hash_val"] and merkle_root(existence) == root


def absent(root, proof):
    """Whether a non-membership proof's longest prefix hashes from its two children and its path leads to `root`
    (not the label and prefix comparisons)."""
    children = proof["longest_prefix_children"]
    membership = proof["longest_prefix_membership_proof"]
    if len(children) != 2 or children_hash(*((c["value"], c["label"]) for c in children)) != membership["hash_val"]:
        return False
    return merkle_root(membership) == root


def check_version(version, value_epoch, epoch):
    """kt-verify SPEC 3 step 2; a refusal's second argument holds the error's fields, as the vectors name them."""
    if version == 0:
        raise Refusal("ZeroVersion")
    if version == 2**64 - 1:
        raise Refusal("VersionOutOfRange")
    if version > epoch:
        raise Refusal("VersionAfterEpoch", {"errorVersion": str(version), "errorEpoch": str(epoch)})
    if value_epoch > epoch:
        raise Refusal("ValueEpochAfterRoot", {"errorValueEpoch": str(value_epoch), "errorEpoch": str(epoch)})


def check_vrf_key(key, vrf_key_point):
    """kt-verify's DirectoryVerifier::new: 32 bytes that akd_core's VRFPublicKey::try_from takes (check_vectors.py's
    vrf_key_point: curve25519-dalek's decoding, y taken mod p, and not a point of small order)."""
    if len(key) != 32 or vrf_key_point(key) is None:
        raise Refusal("InvalidVrfKey")


def lookup_outcome(test, vrf_key_point):
    """The proof's (version, value epoch, value), or Refusal."""
    check_vrf_key(bytes.fromhex(test["vrfPublicKey"]), vrf_key_point)
    proof = decode_canonical(bytes.fromhex(test["proof"]), "LookupProof")
    check_version(proof["version"], proof["epoch"], int(test["epoch"]))
    check_root_label([proof["existence_proof"], proof["marker_proof"], proof["freshness_proof"]["longest_prefix_membership_proof"]])
    root = bytes.fromhex(test["rootHash"])
    binds = (
        committed(root, proof["value"], proof["epoch"], proof["commitment_nonce"], proof["existence_proof"])
        and merkle_root(proof["marker_proof"]) == root
        and absent(root, proof["freshness_proof"])
    )
    return [(proof["version"], proof["epoch"], proof["value"])], binds


def history_outcome(test, vrf_key_point):
    """The proof's versions (version, value epoch, value), newest first, or Refusal."""
    check_vrf_key(bytes.fromhex(test["vrfPublicKey"]), vrf_key_point)
    proof = decode_canonical(bytes.fromhex(test["proof"]), "HistoryProof")
    if not proof["update_proofs"]:
        raise Refusal("EmptyHistory")
    for update in proof["update_proofs"]:
        check_version(update["version"], update["epoch"], int(test["epoch"]))
        check_root_label([update["existence_proof"]] + ([update["previous_version_proof"]] if "previous_version_proof" in update else []))
    check_root_label(proof["existence_of_past_marker_proofs"])
    check_root_label([p["longest_prefix_membership_proof"] for p in proof["non_existence_of_future_marker_proofs"]])
    root = bytes.fromhex(test["rootHash"])
    binds = (
        all(committed(root, u["value"], u["epoch"], u["commitment_nonce"], u["existence_proof"]) for u in proof["update_proofs"])
        and all(merkle_root(u["previous_version_proof"]) == root for u in proof["update_proofs"] if "previous_version_proof" in u)
        and all(merkle_root(p) == root for p in proof["existence_of_past_marker_proofs"])
        and all(absent(root, p) for p in proof["non_existence_of_future_marker_proofs"])
    )
    return [(u["version"], u["epoch"], u["value"]) for u in proof["update_proofs"]], binds


# The fields a ProofError carries (VersionAfterEpoch, ValueEpochAfterRoot), as the vectors name them.
PROOF_ERROR_FIELDS = ("errorVersion", "errorValueEpoch", "errorEpoch")


def check_proof(group, test, outcome, expected, expect, valid, vrf_key_point):
    """Shared by both proof families: `expected` gives the valid test's [(version, valueEpoch, value)]."""
    for field in ("epoch", "version", "valueEpoch"):
        if field in test:
            expect(test[field] == str(int(test[field])), test, f"{field} is not a canonical decimal string")
    expect(valid(test) != group["type"].endswith("Reject"), test, f"result in a {group['type']} group")
    try:
        (versions, binds), refused, fields = outcome(test, vrf_key_point), None, {}
    except Refusal as refusal:
        versions, binds, refused = None, None, refusal.args[0]
        fields = refusal.args[1] if len(refusal.args) > 1 else {}
    named = {field: test[field] for field in PROOF_ERROR_FIELDS if field in test}
    expect(named == fields, test, f"the error's fields are {fields}, the vector's {named}")
    if valid(test):
        expect(refused is None, test, f"refused with {refused}")
        expect(binds, test, "the committed values and Merkle paths do not lead to rootHash")
        expect(versions == expected(test), test, "the versions, epochs or values differ from the proof's")
        return
    error = test["error"]
    if refused is not None:
        expect(error == refused and "failure" not in test, test, f"refused with {refused}, not {error}")
        return
    # Refused by akd_core: any of its checks if a BLAKE3 path fails here (akd_core may find a VRF failure first);
    # else one this consumer does not run (the VRF, the version arithmetic, the labels and prefixes).
    expect(error == "Rejected", test, f"nothing before akd_core refuses it, yet the error is {error}")
    failures = ("Membership", "NonMembership", "Lookup", "History", "Vrf", "Serialization") if not binds else ("NonMembership", "Lookup", "History", "Vrf")
    expect(test.get("failure") in failures, test, f"failure {test.get('failure')} where the BLAKE3 paths {'hold' if binds else 'fail'}")


def make_checkers(expect, valid, vrf_key_point, check_monitor):
    """The three checkers, bound to check_vectors.py's helpers (check_monitor: kt_audit's Monitor group, in
    kt_witness.py)."""

    def check_kt_lookup(group, test):
        def expected(test):
            return [(int(test["version"]), int(test["valueEpoch"]), bytes.fromhex(test["value"]))]

        check_proof(group, test, lookup_outcome, expected, expect, valid, vrf_key_point)

    def check_kt_history(group, test):
        def expected(test):
            fields = (test["versions"], test["valueEpochs"], test["values"])
            expect(len(set(map(len, fields))) == 1, test, "versions, valueEpochs and values differ in length")
            if test["historyParams"] == "MostRecent":
                expect(len(test["versions"]) <= test["mostRecent"], test, "more versions than requested")
            return [(int(v), int(e), bytes.fromhex(x)) for v, e, x in zip(*fields)]

        expect(test["historyParams"] in ("Complete", "MostRecent") and ("mostRecent" in test) == (test["historyParams"] == "MostRecent"), test, "historyParams")
        check_proof(group, test, history_outcome, expected, expect, valid, vrf_key_point)

    chain_end = {}

    def check_kt_audit(group, test):
        if group["type"] == "Monitor":
            check_monitor(test)
            return
        expect(valid(test) != (group["type"] == "AuditReject"), test, f"result in a {group['type']} group")
        start = (int(test["auditorEpoch"]), bytes.fromhex(test["auditorHash"])) if "auditorEpoch" in test else None
        expect(("auditorEpoch" in test) == ("auditorHash" in test), test, "auditorEpoch without auditorHash")
        if group["type"] == "AuditChain" and id(group) in chain_end:
            expect(start == chain_end[id(group)], test, "does not start where the previous blob of the chain ended")
        try:
            chain, refused = audit_outcome(test, start), None
        except Refusal as refusal:
            chain, refused = None, refusal.args
        if valid(test):
            expect(refused is None, test, f"refused with {refused}")
            named = tuple(int(test[f"chain{end}Epoch"]) for end in ("Start", "End")), tuple(bytes.fromhex(test[f"chain{end}Hash"]) for end in ("Start", "End"))
            expect(chain == named, test, "the chain after the blob differs")
            chain_end[id(group)] = (chain[0][1], chain[1][1])
            return
        if refused is not None:
            expect((test["error"], test.get("failure")) == (refused + (None,))[:2], test, f"refused with {refused}, not {test['error']}")
            # TooLarge carries the blob's length and the limit, EpochGap the epochs expected and found, ChainBroken
            # the blob's epoch; the refusal's third argument.
            fields = refused[2] if len(refused) > 2 else {}
            named = {f: test[f] for f in AUDIT_ERROR_FIELDS if f in test}
            expect(named == fields, test, f"the error's fields are {fields}, the vector's {named}")
        else:
            expect(test["error"] == "Rejected" and "failure" not in test, test, f"nothing before akd refuses it, yet the error is {test['error']}")
            named = {f: test[f] for f in AUDIT_ERROR_FIELDS if f in test}
            expect(named == {"errorEpoch": test["epoch"]}, test, f"Rejected carries the blob's epoch, the vector {named}")

    return check_kt_lookup, check_kt_history, check_kt_audit


# The fields an AuditError carries, as the vectors name them.
AUDIT_ERROR_FIELDS = ("length", "max", "errorExpected", "errorFound", "errorEpoch")
# kt-verify's ChainAuditor::DEFAULT_MAX_BLOB_LEN (SPEC 7): 256 MiB.
DEFAULT_MAX_BLOB_LEN = 256 << 20


def parse_blob_name(name):
    parts = name.split("/")
    if len(parts) != 3:
        raise Refusal("Name", "Parts")
    epoch, previous, current = parts
    if not epoch or not all(c in "0123456789" for c in epoch) or epoch[0] == "0" or not 1 <= int(epoch) < 2**64:
        raise Refusal("Name", "Epoch")
    for root in (previous, current):
        if len(root) != 64 or not all(c in "0123456789abcdef" for c in root):
            raise Refusal("Name", "Root")
    return int(epoch), bytes.fromhex(previous), bytes.fromhex(current)


def audit_outcome(test, start):
    """The chain ((start epoch, end epoch), (start hash, end hash)) after the blob, or Refusal."""
    epoch, previous, current = parse_blob_name(test["name"])
    if (epoch, previous.hex(), current.hex()) != (int(test["epoch"]), test["previousHash"], test["currentHash"]):
        raise Refusal("the name does not say epoch, previousHash and currentHash")
    if start is not None:
        if start[0] == 2**64 - 1:
            raise Refusal("ChainEnded")
        if epoch != start[0] + 1:
            raise Refusal("EpochGap", None, {"errorExpected": str(start[0] + 1), "errorFound": str(epoch)})
        if previous != start[1]:
            raise Refusal("ChainBroken", None, {"errorEpoch": str(epoch)})
    blob = bytes.fromhex(test["blob"])
    limit = int(test["maxBlobLen"]) if "maxBlobLen" in test else DEFAULT_MAX_BLOB_LEN
    if len(blob) > limit:
        raise Refusal("TooLarge", None, {"length": str(len(blob)), "max": str(limit)})
    decode_canonical(blob, "SingleAppendOnlyProof")
    first = start or (epoch - 1, previous)
    return (first[0], epoch), (first[1], current)
