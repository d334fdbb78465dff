"""Consumer of vault_replica.json (vault-core SPEC sections 2, 3, 5, 9, 11 and 13), without OPAQUE.

It cannot run the OPAQUE exchanges (no ristretto255), so it checks what the specifications let it check around them,
step by step through each vector's log:

- the key file's framing (SPEC section 2, type 0x64) and the configuration's decimal strings;
- each command's and response's framing and fields, with check_vectors' vault_commands decoders (SPEC section 3),
  and the authorization (section 11): a command is refused with Forbidden exactly when its principal may not send
  it;
- every stored key and value decodes per SPEC section 2 (user state status, generation and attempts; pending
  registration; login session; pending-count equal to the entries in flight), each under its owner's key;
- versions (section 13): entries the command did not write keep their version and value, the written ones take
  consecutive versions after the previous lastVersion, in the order section 13 gives for the command kind;
- each refusal changed nothing (store after == store before), but the login start that finds the guesses used up,
  which writes Locked; and each refusal's reason, recomputed from the store before it, the command and the
  configuration (caps, lifetimes, sessions, challenges, Argon2id policy, and, from the stored OPAQUE state, whether
  the finalization's MAC is the one the vault expects);
- each login start: the guesses remaining it signed equal attemptLimit minus the attempts stored after it, one
  more than before; the signature verifies under the key file's Ed25519 key; the session and generation stored;
  the record's challenge, or for a user with no record the stand-in challenge (HKDF of the OPRF seed), in the
  stored state; the masked response unmasks to the server key and the record's envelope (zeros for no record);
- the draws of section 13 from ChaCha20 keyed with the command's entropy (the challenge, the session id,
  masking_nonce, server_nonce, the fake record's masking key, the key release nonce);
- the answers: registration signatures, the stored record equal to the upload, EK released (AES-GCM under
  SHARED_K from the stored session key) and the deletion receipt's HMAC, the sweep's removals and cursor.

check_vectors.py builds the checker with its own helpers: checker(sys.modules[__name__]).
"""

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

USER, PENDING, LOGIN, COUNT = b"user/", b"pending/", b"login/", b"pending-count"
SWEPT = (PENDING, LOGIN, b"ipls-session/")
DECIMALS = ("challengeTtlMs", "loginTtlMs", "escrowTtlMs", "maxPendingTotal")
ANSWERS = {"RegistrationStart": ("RegistrationStarted",), "RegistrationFinish": ("Registered",),
           "LoginStart": ("LoginStarted",), "LoginFinish": ("KeyReleased", "Deleted"), "Sweep": ("Swept",)}


def keystream(entropy, length):
    """The first bytes of ChaCha20Rng::from_seed(entropy): ChaCha20 keyed with the entropy, counter 0, nonce 0."""
    return Cipher(algorithms.ChaCha20(entropy, bytes(16)), mode=None).encryptor().update(bytes(length))


def checker(cv):
    """The family's checker, using check_vectors' helpers (so that its Disagreement is the one raised)."""

    def integer(data):
        return int.from_bytes(data, "big")

    def decimal(test, value, what):
        cv.expect(isinstance(value, str) and value == str(int(value)) and 0 <= int(value) < 2**64, test,
                  f"{what} is not a canonical decimal u64")
        return int(value)

    def header(test, value, type_code, what):
        cv.expect(len(value) >= 2 and value[0] == cv.VERSION and value[1] == type_code, test, f"{what}: header")
        return value[2:]

    def nested(test, data, type_code, body_len, user, what):
        """`len16 || message` at the end of a stored value: the message's body, for `user`."""
        cv.expect(len(data) >= 2 and integer(data[:2]) == len(data) - 2, test, f"{what}: len16")
        framed = cv.unframe(data[2:], type_code, body_len)
        cv.expect(framed is not None and framed[0] == user, test, f"{what}: framing or owner")
        return framed[1]

    def user_state(test, user, value):
        body = header(test, value, 0x61, "user state")
        cv.expect(len(body) >= 9, test, "user state: truncated")
        status, generation = body[0], integer(body[1:9])
        if status == 0x01:
            cv.expect(len(body) >= 13, test, "user state: truncated")
            record = nested(test, body[13:], 0x21, 296, user, "backup record")
            return {"status": "Active", "generation": generation, "attempts": integer(body[9:13]), "record": record}
        if status == 0x02:
            cv.expect(len(body) == 9, test, "Locked: length")
            return {"status": "Locked", "generation": generation}
        cv.expect(status == 0x03 and len(body) == 13, test, "user state: status or length")
        return {"status": "NoRecord", "generation": generation, "attempts": integer(body[9:13])}

    def decode_entry(test, key, value):
        """(kind, owner, decoded value) of a stored entry, per SPEC section 2."""
        if key.startswith(USER):
            owner = key[len(USER):]
            cv.expect(1 <= len(owner) <= 255, test, "user key")
            return "user", owner, user_state(test, owner, value)
        if key.startswith(PENDING):
            owner = key[len(PENDING):]
            body = header(test, value, 0x62, "pending registration")
            cv.expect(len(body) >= 8, test, "pending registration: truncated")
            pending = nested(test, body[8:], 0x22, 32, owner, "pending registration")
            return "pending", owner, {"issued": integer(body[:8]), "challenge": pending}
        if key.startswith(LOGIN):
            rest = key[len(LOGIN):]
            cv.expect(len(rest) >= 1 and rest[0] >= 1 and len(rest) == 1 + rest[0] + 16, test, "login key")
            owner = rest[1 : 1 + rest[0]]
            body = header(test, value, 0x63, "login session")
            cv.expect(len(body) >= 16, test, "login session: truncated")
            state = nested(test, body[16:], 0x23, 161, owner, "vault login state")
            cv.expect(state[0] in (1, 2), test, "login purpose")
            return "login", owner, {"issued": integer(body[:8]), "generation": integer(body[8:16]), "purpose": state[0],
                                    "challenge": state[1:33], "sessionKey": state[33:97], "expectedMac": state[97:161]}
        cv.expect(key == COUNT, test, f"unexpected key {key!r}")
        body = header(test, value, 0x68, "pending count")
        cv.expect(len(body) == 8, test, "pending count: length")
        return "count", None, integer(body)

    def store_of(test):
        entries, keys = {}, []
        for entry in test["store"]:
            key = bytes.fromhex(entry["key"])
            entries[key] = (decimal(test, entry["version"], "version"), bytes.fromhex(entry["value"]))
            keys.append(key)
        cv.expect(keys == sorted(keys) and len(set(keys)) == len(keys), test, "store not in key order")
        return entries

    def login_key(owner, session):
        return LOGIN + bytes([len(owner)]) + owner + session

    def held(entries, owner):
        """The owner's entries in flight (SPEC section 9)."""
        prefix = LOGIN + bytes([len(owner)]) + owner
        return (PENDING + owner in entries) + sum(1 for key in entries if key.startswith(prefix) and len(key) == len(prefix) + 16)

    def key_file(test, group):
        data = bytes.fromhex(group["keyFile"])
        cv.expect(len(data) == 198 and data[:4] == bytes([cv.VERSION, 0x64, 0, 162]), test, "keyFile framing")
        vault_keys = data[4:166]
        cv.expect(vault_keys[:2] == bytes([cv.VERSION, 0x31]), test, "VaultKeys framing")
        fleet_key = Ed25519PrivateKey.from_private_bytes(vault_keys[130:]).public_key().public_bytes_raw()
        return vault_keys[2:66], fleet_key

    def server_key(group):
        """The OPAQUE server public key, from the group's first registration response."""
        for test in group["tests"]:
            if test["requestKind"] == "RegistrationStart" and "response" in test:
                return cv.unframe(bytes.fromhex(test["response"])[3:], 0x02, 160)[1][64:96]
        return None

    def check(group, test):
        tests = group["tests"]
        index = next(i for i, t in enumerate(tests) if t is test)
        before = tests[index - 1] if index else None
        oprf_seed, fleet_key = key_file(test, group)
        config = {name: decimal(test, group[name], name) for name in DECIMALS}
        limit, cap, total = group["attemptLimit"], group["maxPendingPerPrincipal"], config["maxPendingTotal"]
        now = decimal(test, test["atMs"], "atMs")
        entries, prior = store_of(test), (store_of(before) if before else {})
        last, prior_last = decimal(test, test["lastVersion"], "lastVersion"), (int(before["lastVersion"]) if before else 0)

        # The command: its fields are the decoding's, and the authorization is the SPEC's.
        command = bytes.fromhex(test["command"])
        try:
            decoded = cv.decode_command(command)
        except cv.Refused as refusal:
            raise cv.Disagreement(f"tcId {test['tcId']}: the command does not decode: {refusal.fields}") from None
        for field in ("atMs", "entropy", "principal"):
            cv.expect(decoded[field] == test[field], test, f"{field} is not the command's")
        kind = test["requestKind"]
        cv.expect(decoded["kindName"] == kind and kind in ANSWERS, test, "requestKind")
        owner = bytes.fromhex(decoded["accountId"]) if "accountId" in decoded else None
        message = bytes.fromhex(decoded["message"])
        stream = keystream(bytes.fromhex(test["entropy"]), 176)
        error = test.get("error")
        cv.expect(cv.valid(test) == (error is None) == ("response" in test), test, "result, error and response")
        cv.expect((error == "Forbidden") == (decoded["authorization"] == "Forbidden"), test, "authorization")

        # Every entry decodes under its owner's key; pending-count is the number of entries in flight.
        decoded_entries = {key: decode_entry(test, key, value) for key, (_, value) in entries.items()}
        prior_entries = {key: decode_entry(test, key, value) for key, (_, value) in prior.items()}
        in_flight = sum(1 for key in entries if key.startswith(SWEPT))
        cv.expect(decoded_entries.get(COUNT, ("count", None, 0))[2] == in_flight, test, "pending-count")
        for key, (kind_of, _, state) in decoded_entries.items():
            if kind_of == "user" and state["status"] != "Locked":
                cv.expect(state["attempts"] <= limit, test, "attempts above the limit")

        # Versions: untouched entries as they were, written ones numbered consecutively after lastVersion.
        cv.expect(last >= prior_last, test, "lastVersion went back")
        written = sorted((version, key) for key, (version, _) in entries.items() if version > prior_last)
        cv.expect([version for version, _ in written] == list(range(prior_last + 1, last + 1)), test, "versions")
        for key, (version, value) in entries.items():
            if version <= prior_last:
                cv.expect(prior.get(key) == (version, value), test, "an entry changed without a new version")
        deleted = sorted(set(prior) - set(entries))

        def state_of(user, decoded_store):
            entry = decoded_store.get(USER + user)
            return entry[2] if entry else None

        previous_state = state_of(owner, prior_entries) if owner else None
        expected_writes, expected_deleted = [], []

        if error is not None:
            check_refusal(test, group, kind, error, owner, message, decoded, stream, prior, prior_entries, previous_state,
                          config, limit, cap, total, now)
            if error == "Locked" and kind == "LoginStart" and previous_state and previous_state["status"] != "Locked":
                cv.expect(previous_state["attempts"] >= limit, test, "Locked with guesses left")
                expected_writes = [USER + owner]
                locked = state_of(owner, decoded_entries)
                cv.expect(locked == {"status": "Locked", "generation": previous_state["generation"]}, test, "Locked state")
            elif error == "Locked" and kind == "LoginStart" and previous_state is None:
                cv.expect(limit == 0, test, "Locked with guesses left")
                expected_writes = [USER + owner]
            else:
                cv.expect(entries == prior and last == prior_last, test, "a refusal changed the store")
        else:
            response = bytes.fromhex(test["response"])
            try:
                answer = cv.decode_response(response)
            except cv.Refused as refusal:
                raise cv.Disagreement(f"tcId {test['tcId']}: the response does not decode: {refusal.fields}") from None
            cv.expect(answer["kindName"] in ANSWERS[kind], test, f"{answer['kindName']} answers {kind}")
            cv.expect(("guessesRemaining" in test) == (answer["kindName"] == "LoginStarted"), test, "guessesRemaining")
            body = response[19:] if answer["kindName"] == "LoginStarted" else response[3:]
            if kind == "RegistrationStart":
                expected_writes = ([] if PENDING + owner in prior else [COUNT]) + [PENDING + owner]
                registration_started(test, owner, message, body, stream, decoded_entries, fleet_key, now)
            elif kind == "RegistrationFinish":
                expected_writes, expected_deleted = [USER + owner, COUNT], [PENDING + owner]
                upload = cv.unframe(message, 0x03, 296)[1]
                signature = cv.unframe(body, 0x04, 64)[1]
                signed = cv.REGISTRATION_RECEIPT_SIGNATURE + bytes([cv.VERSION]) + cv.len8(owner) + upload
                cv.expect(cv.ed25519_strict(fleet_key, signed, signature), test, "registration receipt signature")
                generation = previous_state["generation"] + 1 if previous_state else 1
                cv.expect(state_of(owner, decoded_entries) == {"status": "Active", "generation": generation, "attempts": 0,
                                                             "record": upload}, test, "the stored record")
            elif kind == "LoginStart":
                session = bytes.fromhex(answer["sessionId"])
                expected_writes = [COUNT, USER + owner, login_key(owner, session)]
                login_started(test, group, owner, message, body, session, stream, previous_state,
                              state_of(owner, decoded_entries), decoded_entries, oprf_seed, fleet_key, limit, now)
            elif kind == "LoginFinish":
                session = bytes.fromhex(decoded["sessionId"])
                expected_writes, expected_deleted = [USER + owner, COUNT], [login_key(owner, session)]
                _, _, login = prior_entries[login_key(owner, session)]
                cv.expect(hmac.compare_digest(message[-64:], login["expectedMac"]), test, "the finalization's MAC")
                record = previous_state["record"]
                after = state_of(owner, decoded_entries)
                if login["purpose"] == 1:
                    cv.expect(answer["kindName"] == "KeyReleased", test, "a retrieval releases EK")
                    release = cv.unframe(body, 0x14, 120)[1]
                    cv.expect(release[:12] == stream[:12], test, "the key release nonce is the first draw")
                    shared_k = cv.hkdf(None, login["sessionKey"], cv.SHARED_K_INFO, 32)
                    aad = cv.KEY_RELEASE_AAD + bytes([cv.VERSION]) + cv.len8(owner)
                    cv.expect(cv.opens(shared_k, release[:12], release[12:], aad) == record[204:296], test, "EK released")
                    cv.expect(after == dict(previous_state, attempts=0), test, "attempts reset")
                else:
                    cv.expect(answer["kindName"] == "Deleted", test, "a deletion deletes")
                    deleted_k = cv.hkdf(None, login["sessionKey"], cv.DELETED_K_INFO, 32)
                    mac_input = cv.DELETION_RECEIPT_MAC + bytes([cv.VERSION]) + cv.len8(owner)
                    tag = hmac.new(deleted_k, mac_input, hashlib.sha256).digest()
                    cv.expect(body == bytes([cv.VERSION, 0x15]) + cv.len8(owner) + tag, test, "the deletion receipt")
                    cv.expect(after == {"status": "NoRecord", "generation": previous_state["generation"], "attempts": 0},
                              test, "NoRecord after the deletion")
            else:  # Sweep
                removed = answer["removed"]
                expected_writes = [COUNT] if removed else []
                expected_deleted = deleted
                cv.expect(len(deleted) == removed, test, "removed")
                ttls = {PENDING: config["challengeTtlMs"], LOGIN: config["loginTtlMs"]}
                for key in deleted:
                    prefix = PENDING if key.startswith(PENDING) else LOGIN
                    cv.expect(now - prior_entries[key][2]["issued"] > ttls[prefix], test, "swept an unexpired entry")
                # The page (SPEC section 9): pending/, then login/, then ipls-session/, each in key order, after the cursor.
                cursor, first = message, 0
                if cursor:
                    first = next(i for i, prefix in enumerate(SWEPT) if cursor.startswith(prefix))
                candidates = [key for i, prefix in enumerate(SWEPT) if i >= first
                              for key in sorted(k for k in prior if k.startswith(prefix))
                              if not (i == first and cursor and key <= cursor)]
                page = candidates[: group["sweepPage"]]
                full = len(page) == group["sweepPage"]
                cv.expect(("next" in answer) == full, test, "next present exactly when the page is full")
                if full:
                    cv.expect(bytes.fromhex(answer["next"]) == page[-1], test, "next is the page's last key")
                cv.expect(set(deleted) <= set(page), test, "swept outside the page")
                for key in page:
                    expired = now - prior_entries[key][2]["issued"] > ttls[PENDING if key.startswith(PENDING) else LOGIN]
                    cv.expect(expired == (key in deleted), test, "the page's expired entries")
        cv.expect([key for _, key in written] == expected_writes, test, "written keys or their order")
        cv.expect(deleted == sorted(expected_deleted), test, "deleted keys")

    def registration_started(test, owner, message, body, stream, decoded_entries, fleet_key, now):
        request = cv.unframe(message, 0x01, 32)[1]
        response = cv.unframe(body, 0x02, 160)[1]
        cv.expect(response[:32] == stream[:32], test, "the challenge is the first draw")
        signed = (cv.REGISTRATION_RESPONSE_SIGNATURE + bytes([cv.VERSION]) + cv.len8(owner) + response[:32] + request
                  + response[32:96])
        cv.expect(cv.ed25519_strict(fleet_key, signed, response[96:]), test, "registration response signature")
        _, _, pending = decoded_entries[PENDING + owner]
        cv.expect(pending == {"issued": now, "challenge": response[:32]}, test, "the stored registration")

    def login_started(test, group, owner, message, body, session, stream, previous, after, decoded_entries, oprf_seed,
                      fleet_key, limit, now):
        request = cv.unframe(message, 0x11, 97)[1]
        response = cv.unframe(body, 0x12, 400)[1]
        guesses = integer(response[12:16])
        cv.expect(test["guessesRemaining"] == guesses, test, "guessesRemaining is the response's")
        cv.expect(cv.ed25519_strict(fleet_key, cv.login_signed_bytes(owner, request, response), response[336:]), test,
                  "login response signature")
        # The charge: one more attempt, stored before the response; the guesses remaining signed from it.
        real = previous is not None and previous["status"] == "Active"
        attempts = previous["attempts"] if previous else 0
        generation = previous["generation"] if previous else 0
        cv.expect(after["status"] == ("Active" if real else "NoRecord") and after["attempts"] == attempts + 1
                  and after["generation"] == generation and after.get("record") == (previous or {}).get("record"),
                  test, "the charge")
        cv.expect(guesses == limit - after["attempts"], test, "guesses remaining vs the stored attempts")
        # Section 13's draws: the session id, the fake record's masking key, masking_nonce, the key share seed,
        # server_nonce.
        cv.expect(session == stream[:16], test, "the session id is the first draw")
        credential = response[16:336]
        cv.expect(credential[32:64] == stream[80:112] and credential[192:224] == stream[144:176], test, "KE2 nonces")
        record = previous["record"] if real else None
        masking_key = record[44:108] if real else stream[16:80]
        envelope = record[108:204] if real else bytes(96)
        pad = cv.expand64(masking_key, credential[32:64] + b"CredentialResponsePad", 128)
        unmasked = bytes(x ^ y for x, y in zip(credential[64:192], pad))
        server = server_key(group)
        cv.expect(unmasked[32:] == envelope and (server is None or unmasked[:32] == server), test, "masked response")
        cv.expect(response[:12] == (record[:12] if real else cv.RECOMMENDED_KSF), test, "Argon2id parameters")
        challenge = record[204:236] if real else cv.hkdf(None, oprf_seed, cv.FAKE_CHALLENGE_INFO + owner, 32)
        _, _, login = decoded_entries[login_key(owner, session)]
        cv.expect(login["issued"] == now and login["generation"] == generation and login["purpose"] == request[0]
                  and login["challenge"] == challenge, test, "the stored login session")

    def check_refusal(test, group, kind, error, owner, message, decoded, stream, prior, prior_entries, previous, config,
                      limit, cap, total, now):
        """The refusal's reason, recomputed from the store before the command."""
        count = prior_entries.get(COUNT, ("count", None, 0))[2]
        if error == "Forbidden":
            return  # the authorization, checked above
        if error in ("PrincipalPendingFull", "PendingFull"):
            full = held(prior, owner) >= cap
            cv.expect(full if error == "PrincipalPendingFull" else (not full and count >= total), test, error)
            return
        if kind == "Sweep":
            cv.expect(error == "InvalidSweepCursor" and message and not message.startswith(SWEPT), test, error)
            return
        cv.expect(held(prior, owner) < cap and count < total or kind.endswith("Finish"), test, "room")
        if kind == "LoginStart":
            if error == "Conflict":
                cv.expect(login_key(owner, stream[:16]) in prior, test, "Conflict: the session id is taken")
            else:
                cv.expect(error == "Locked" and previous is not None
                          and (previous["status"] == "Locked" or previous["attempts"] >= limit), test, error)
            return
        if kind == "RegistrationFinish":
            entry = prior_entries.get(PENDING + owner)
            upload = cv.unframe(message, 0x03, 296)[1]
            if error == "NoPendingRegistration":
                cv.expect(entry is None, test, error)
            elif error == "ChallengeExpired":
                cv.expect(entry and now - entry[2]["issued"] > config["challengeTtlMs"], test, error)
            elif error == "Protocol(ChallengeMismatch)":
                cv.expect(entry and entry[2]["challenge"] != upload[204:236], test, error)
            else:
                ksf = [integer(upload[i : i + 4]) for i in (0, 4, 8)]
                low = [group["ksfMinMemoryKib"], group["ksfMinIterations"], group["ksfMinParallelism"]]
                high = [group["ksfMaxMemoryKib"], group["ksfMaxIterations"], group["ksfMaxParallelism"]]
                cv.expect(error == "Protocol(KsfParamsRejected)" and entry and entry[2]["challenge"] == upload[204:236]
                          and not all(a <= v <= b for a, v, b in zip(low, ksf, high)), test, error)
            return
        cv.expect(kind == "LoginFinish", test, f"{error} refusing {kind}")
        entry = prior_entries.get(login_key(owner, bytes.fromhex(decoded["sessionId"])))
        if error == "UnknownSession":
            cv.expect(entry is None, test, error)
            return
        login = entry[2]
        if error == "SessionExpired":
            cv.expect(now - login["issued"] > config["loginTtlMs"], test, error)
            return
        proven = hmac.compare_digest(message[-64:], login["expectedMac"])
        if error == "Protocol(ClientAuthenticationFailed)":
            cv.expect(not proven, test, error)
            return
        cv.expect(proven, test, f"{error}: the password is proven first")
        if error == "Locked":
            cv.expect(previous["status"] == "Locked", test, error)
        else:
            cv.expect(error == "Superseded" and (previous is None or previous["status"] != "Active"
                                                 or previous["generation"] != login["generation"]), test, error)

    return check
