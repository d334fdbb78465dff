//! Audit at scale (issue #16 item 4, kt-verify BENCHMARKS.md): builds akd audit blobs of large epochs, and verifies
//! one blob per process, with kt-verify's `ChainAuditor::verify_blob` or akd's own audit verification, so that each
//! verifier's peak RSS is its own.
//!
//! ```text
//! audit_at_scale generate <labels> <updates> <dir>    write <dir>/audit-<updates>.blob and .name
//! audit_at_scale verify <kt-verify|akd> <blob file>   verify it (the name from the .name file next to it)
//! ```
//!
//! The directory is `test_vectors::kt_bench`'s: `labels` labels in epoch 1, one update in epoch 2, `updates` new
//! labels in epoch 3; the blob is the append-only proof from epoch 2 to 3. `verify` reads the blob (one copy in
//! memory, as an auditor holding a downloaded blob has), prints the peak RSS so far, verifies once, and prints the
//! verification's wall time, its CPU time, and the process's peak RSS (`VmHWM`) at the end.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use kt_verify::{AuditBlobName, WhatsAppChainAuditor};
use test_vectors::kt_bench::{Fixture, akd_audit_verify, runtime};

/// The process's peak resident set size in KiB (`VmHWM` in `/proc/self/status`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`, nanoseconds): the verifiers run on
/// the calling thread (a current-thread runtime), so this is their CPU time, which other processes on a busy machine
/// move less than the wall time.
fn thread_cpu_s() -> f64 {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("/proc/thread-self/schedstat");
    let ns: u64 = schedstat
        .split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .expect("run time");
    std::time::Duration::from_nanos(ns).as_secs_f64()
}

fn generate(labels: usize, updates: usize, dir: &Path) {
    let started = Instant::now();
    let fixture = Fixture::build(labels, updates);
    let seconds = started.elapsed().as_secs_f64();
    let blob = dir.join(format!("audit-{updates}.blob"));
    std::fs::write(&blob, &fixture.audit).expect("write the blob");
    std::fs::write(blob.with_extension("name"), fixture.audit_name()).expect("write the name");
    println!(
        "labels {labels} updates {updates} blob_bytes {} generation_s {seconds:.1} peak_rss_kib {}",
        fixture.audit.len(),
        peak_rss_kib()
    );
}

fn verify(verifier: &str, blob: &Path) -> Result<(), String> {
    let name = std::fs::read_to_string(blob.with_extension("name")).map_err(|e| format!("the name: {e}"))?;
    let data = std::fs::read(blob).map_err(|e| format!("the blob: {e}"))?;
    let parsed = AuditBlobName::parse(&name).map_err(|e| e.to_string())?;
    let before = peak_rss_kib();
    let started;
    let cpu_started;
    match verifier {
        "kt-verify" => {
            let mut auditor = WhatsAppChainAuditor::new()
                .map_err(|e| e.to_string())?
                .with_max_blob_len(usize::MAX);
            (started, cpu_started) = (Instant::now(), thread_cpu_s());
            auditor.verify_blob(&name, &data).map_err(|e| e.to_string())?;
        }
        "akd" => {
            let runtime = runtime();
            (started, cpu_started) = (Instant::now(), thread_cpu_s());
            akd_audit_verify(
                &runtime,
                &data,
                parsed.epoch(),
                *parsed.previous_root(),
                *parsed.current_root(),
            )
            .map_err(|e| e.to_string())?;
        }
        _ => return Err(format!("unknown verifier {verifier}")),
    }
    let (seconds, cpu) = (started.elapsed().as_secs_f64(), thread_cpu_s() - cpu_started);
    println!(
        "verifier {verifier} blob_bytes {} verify_s {seconds:.3} cpu_s {cpu:.3} peak_rss_before_kib {before} peak_rss_kib {}",
        data.len(),
        peak_rss_kib()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["generate", labels, updates, dir] => match (labels.parse(), updates.parse()) {
            (Ok(labels), Ok(updates)) => generate(labels, updates, &PathBuf::from(dir)),
            _ => return usage(),
        },
        ["verify", verifier, blob] => {
            if let Err(error) = verify(verifier, Path::new(blob)) {
                eprintln!("audit_at_scale: {error}");
                return ExitCode::FAILURE;
            }
        }
        _ => return usage(),
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: audit_at_scale generate <labels> <updates> <dir> | verify <kt-verify|akd> <blob file>");
    ExitCode::from(2)
}
