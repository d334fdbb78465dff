//! Replica processes: started as this very executable with [`REPLICA_ENV`] set, SIGKILLed, restarted on their own
//! files. [`Fleet`] kills every process it started when it is dropped, also when a test panics.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use super::remote::Remote;
use super::replica::{REPLICA_ENV, ReplicaArgs, fleet_keys};
use crate::adapter::NodeId;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// How long a replica may take to open its files and listen.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// How to run this executable as a replica: the program and the arguments before the replica's environment
/// (none for the example; for a test, the arguments that select the test that calls
/// [`super::replica::run_if_asked`]).
#[derive(Clone, Debug)]
pub(crate) struct Launcher {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
}

struct Running {
    child: Child,
    /// Lines of the replica's stdout, read by a thread of ours.
    lines: Receiver<String>,
}

/// Replica processes on 127.0.0.1, each in its own directory under one base directory.
pub(crate) struct Fleet {
    launcher: Launcher,
    base: PathBuf,
    seed: u64,
    peers: BTreeMap<NodeId, SocketAddr>,
    clients: BTreeMap<NodeId, SocketAddr>,
    /// The replicas' inspection ports: this fleet runs its replicas in test mode, for tests and the example.
    inspect: BTreeMap<NodeId, SocketAddr>,
    running: BTreeMap<NodeId, Running>,
}

/// `count` free ports on 127.0.0.1: bound to port 0 by the kernel, then released for the replicas to bind. Each
/// replica keeps its ports across restarts: its peer address is in the Raft membership.
fn free_addrs(count: usize) -> Result<Vec<SocketAddr>, Failure> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    Ok(listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<Result<_, _>>()?)
}

impl Fleet {
    /// Starts `size` replicas (ids 1 to `size`) under `base`, replica 1 initializing the cluster, and waits until
    /// each listens. `seed` makes the fleet keys.
    pub(crate) fn start(launcher: Launcher, base: &Path, size: u64, seed: u64) -> Result<Self, Failure> {
        let count = usize::try_from(size)?;
        let addrs = free_addrs(3 * count)?;
        let ids = 1..=size;
        let mut fleet = Self {
            launcher,
            base: base.to_path_buf(),
            seed,
            peers: ids.clone().zip(addrs[..count].iter().copied()).collect(),
            clients: ids.clone().zip(addrs[count..2 * count].iter().copied()).collect(),
            inspect: ids.clone().zip(addrs[2 * count..].iter().copied()).collect(),
            running: BTreeMap::new(),
        };
        for id in ids.clone() {
            fleet.spawn(id, id == 1)?;
        }
        for id in ids {
            fleet.wait_ready(id)?;
        }
        Ok(fleet)
    }

    /// Replica `id`'s directory.
    pub(crate) fn dir(&self, id: NodeId) -> PathBuf {
        self.base.join(format!("replica-{id}"))
    }

    fn spawn(&mut self, id: NodeId, init: bool) -> Result<(), Failure> {
        let dir = self.dir(id);
        std::fs::create_dir_all(&dir)?;
        let args = ReplicaArgs {
            id,
            dir: dir.clone(),
            peers: self.peers.clone(),
            client: *self.clients.get(&id).ok_or("unknown replica")?,
            inspect: self.inspect.get(&id).copied(),
            seed: self.seed,
            init,
        };
        let mut child = Command::new(&self.launcher.program)
            .args(&self.launcher.args)
            .env(REPLICA_ENV, args.to_env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Each replica's own log (openraft's warnings, a panic), appended across restarts.
            .stderr(File::options().create(true).append(true).open(dir.join("stderr.log"))?)
            .spawn()?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let (sender, lines) = channel();
        thread::spawn(move || {
            // Drains the pipe until the process ends, so a replica never blocks on a full one.
            for line in stdout.lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        self.running.insert(id, Running { child, lines });
        Ok(())
    }

    fn wait_ready(&mut self, id: NodeId) -> Result<(), Failure> {
        let running = self.running.get_mut(&id).ok_or("replica not running")?;
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            match running
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.ends_with("READY") => return Ok(()),
                Ok(line) if line.starts_with("ERROR") => return Err(format!("replica {id}: {line}").into()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Err(format!("replica {id} did not start").into()),
                Err(RecvTimeoutError::Disconnected) => return Err(format!("replica {id} exited at start").into()),
            }
        }
    }

    /// SIGKILLs replica `id` and reaps it: it stops between any two instructions, as in a crash.
    pub(crate) fn kill(&mut self, id: NodeId) -> Result<(), Failure> {
        let mut running = self.running.remove(&id).ok_or("replica not running")?;
        // `Child::kill` is SIGKILL on Unix.
        running.child.kill()?;
        running.child.wait()?;
        Ok(())
    }

    /// Starts replica `id` again on its own files and ports.
    pub(crate) fn restart(&mut self, id: NodeId) -> Result<(), Failure> {
        if self.running.contains_key(&id) {
            return Err("replica already running".into());
        }
        self.spawn(id, false)?;
        self.wait_ready(id)
    }

    /// The replicas running now.
    pub(crate) fn running(&self) -> Vec<NodeId> {
        self.running.keys().copied().collect()
    }

    /// The CPU time each running replica process has used so far, user and system (`utime` and `stime` of
    /// `/proc/<pid>/stat`, in clock ticks of 10 ms: Linux's `USER_HZ` is 100). Linux only.
    pub(crate) fn cpu_ticks(&self) -> Result<BTreeMap<NodeId, (u64, u64)>, Failure> {
        let mut ticks = BTreeMap::new();
        for (&id, running) in &self.running {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", running.child.id()))?;
            // The fields after the command name, which is in parentheses and may hold spaces: state is field 3,
            // utime and stime fields 14 and 15.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .ok_or("malformed /proc stat")?
                .1
                .split_whitespace()
                .collect();
            let field =
                |n: usize| -> Result<u64, Failure> { Ok(fields.get(n - 3).ok_or("short /proc stat")?.parse()?) };
            ticks.insert(id, (field(14)?, field(15)?));
        }
        Ok(ticks)
    }

    /// A client of the fleet whose requests give up after `deadline`.
    pub(crate) fn remote(&self, deadline: Duration) -> Remote {
        Remote::new(
            self.clients.clone(),
            self.inspect.clone(),
            fleet_keys(self.seed),
            deadline,
        )
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for running in self.running.values_mut() {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }
}
