//! The memory a refused audit blob costs (SPEC §4.1): hostile 8 MiB blobs that fail the in-place layout are
//! classified by a walk of their wire format, so the peak resident memory grows by less than 3× the blob. The old
//! classification decoded them with rust-protobuf, up to 148× the blob. Its own test binary, with one test, so that
//! no other test moves the process's high-water mark.
#![cfg(feature = "auditor")]

use kt_verify::{AuditError, WhatsAppChainAuditor};

/// The process's peak resident set (`VmHWM`), in bytes; `None` where `/proc` does not give it.
fn peak_resident() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: usize = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[test]
fn refused_hostile_blobs_stay_within_three_times_their_length() {
    const LEN: usize = 8 << 20;
    let name = format!("7/{}/{}", "00".repeat(32), "11".repeat(32));
    // Each pattern with the error the rust-protobuf and akd_core decoding gave it (and the factor it cost).
    let patterns: [(&[u8], AuditError); 5] = [
        // `inserted` elements holding only an unknown varint field 3 (148×): no label.
        (&[0x0a, 0x02, 0x18, 0x00], AuditError::Malformed),
        // Elements with an empty label (28×): no label_val, label_len or value.
        (&[0x0a, 0x02, 0x0a, 0x00], AuditError::Malformed),
        // Empty elements (24×).
        (&[0x0a, 0x00], AuditError::Malformed),
        // Empty unknown length-delimited fields at the top level (12×): parses, no elements, not canonical.
        (&[0x1a, 0x00], AuditError::NonCanonical),
        // Labels holding unknown fields (94×).
        (&[0x0a, 0x06, 0x0a, 0x04, 0x1a, 0x02, 0x18, 0x00], AuditError::Malformed),
    ];
    for (pattern, expected) in patterns {
        let blob = pattern.repeat(LEN / pattern.len());
        let mut auditor = WhatsAppChainAuditor::new().expect("auditor");
        let before = peak_resident();
        assert_eq!(
            auditor.verify_blob(&name, &blob).err(),
            Some(expected),
            "{pattern:02x?}"
        );
        if let (Some(before), Some(after)) = (before, peak_resident()) {
            assert!(
                after - before < 3 * blob.len(),
                "{pattern:02x?}: peak grew by {} bytes for a blob of {}",
                after - before,
                blob.len()
            );
        }
        assert!(auditor.chain().is_none());
    }
}
