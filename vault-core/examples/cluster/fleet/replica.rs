//! One replica process: opens its two redb files (Raft log, state machine), starts its openraft node, answers
//! peers on one port and clients on another (and, in test mode, its whole state on a third), and runs until it is
//! killed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backup_protocol::{DecodeError, KsfPolicy};
use openraft::BasicNode;
use openraft::error::{ClientWriteError, InitializeError, RaftError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::net::{TcpListener, TcpStream};
use vault_core::rand_core::{OsRng, RngCore};
use vault_core::{Command, ENTROPY_LEN, FleetKeys, VaultConfig};

use super::protocol::{ClientReply, ClientRequest, StateReply, StateRequest};
use crate::adapter::proposal::{ClientId, Proposal};
use crate::adapter::redb_log::RedbLog;
use crate::adapter::redb_state::RedbStateMachine;
use crate::adapter::tcp::{TcpNetwork, read_frame, read_frame_within, serve, write_frame};
use crate::adapter::{NodeId, Raft};

/// Set in a replica process's environment: its [`ReplicaArgs`].
pub(crate) const REPLICA_ENV: &str = "VAULT_CORE_REPLICA";

/// The largest client request read: a command is a few kilobytes (its bytes a few times that as JSON), so a
/// client cannot make a replica allocate the 64 MiB a peer's frame may take.
const MAX_CLIENT_FRAME: usize = 1 << 20;

/// How long a replica waits for a client's command to be committed and applied before answering `Timeout`.
pub(crate) const COMMIT_DEADLINE: Duration = Duration::from_secs(2);

/// The fleet's keys, the same in every replica. Derived from a seed: for tests and measurements only; a
/// deployment loads its key file inside each HSM.
pub(crate) fn fleet_keys(seed: u64) -> FleetKeys {
    FleetKeys::generate(&mut StdRng::seed_from_u64(seed))
}

/// The policy of every replica: fast Argon2id parameters (tests and measurements), and room for the sessions of
/// wrong guesses, which stay until they expire (2 minutes; no sweeps run here) and which the fault test makes by
/// the hundred per account.
pub(crate) fn vault_config() -> VaultConfig {
    VaultConfig {
        ksf_policy: KsfPolicy::INSECURE_TESTING,
        max_pending_per_principal: 100_000,
        ..VaultConfig::default()
    }
}

/// Timing of the Raft nodes: heartbeats every 100 ms, an election after 500 to 900 ms without one. Wider than the
/// in-process cluster's: five processes share the machine, and a replica held up by another's fsync must not
/// look dead.
fn raft_config() -> openraft::Config {
    openraft::Config {
        cluster_name: "vault".into(),
        heartbeat_interval: 100,
        election_timeout_min: 500,
        election_timeout_max: 900,
        ..openraft::Config::default()
    }
}

/// What a replica process is told at start (in [`REPLICA_ENV`], `key=value` pairs separated by `;`).
#[derive(Clone, Debug)]
pub(crate) struct ReplicaArgs {
    pub(crate) id: NodeId,
    /// Its own directory: `log.redb`, `state.redb`.
    pub(crate) dir: PathBuf,
    /// Every replica's peer address, its own included (the membership it initializes with).
    pub(crate) peers: BTreeMap<NodeId, SocketAddr>,
    /// Its client address.
    pub(crate) client: SocketAddr,
    /// Test mode: where it answers [`StateRequest`] with its whole state. `None` opens no such port.
    pub(crate) inspect: Option<SocketAddr>,
    /// The seed of [`fleet_keys`].
    pub(crate) seed: u64,
    /// Whether to initialize the cluster (the first start of one replica).
    pub(crate) init: bool,
}

impl ReplicaArgs {
    pub(crate) fn to_env(&self) -> String {
        let peers: Vec<String> = self.peers.iter().map(|(id, addr)| format!("{id}@{addr}")).collect();
        let inspect = self.inspect.map(|addr| format!(";inspect={addr}")).unwrap_or_default();
        format!(
            "id={};dir={};peers={};client={};seed={};init={}{inspect}",
            self.id,
            self.dir.display(),
            peers.join(","),
            self.client,
            self.seed,
            self.init
        )
    }

    fn parse(text: &str) -> Result<Self, String> {
        let fields: BTreeMap<&str, &str> = text.split(';').filter_map(|field| field.split_once('=')).collect();
        let field = |name: &str| fields.get(name).copied().ok_or(format!("{REPLICA_ENV}: no {name}"));
        let bad = |name: &str| format!("{REPLICA_ENV}: bad {name}");
        let mut peers = BTreeMap::new();
        for peer in field("peers")?.split(',') {
            let (id, addr) = peer.split_once('@').ok_or(bad("peers"))?;
            peers.insert(
                id.parse().map_err(|_| bad("peers"))?,
                addr.parse().map_err(|_| bad("peers"))?,
            );
        }
        Ok(Self {
            id: field("id")?.parse().map_err(|_| bad("id"))?,
            dir: PathBuf::from(field("dir")?),
            peers,
            client: field("client")?.parse().map_err(|_| bad("client"))?,
            inspect: fields
                .get("inspect")
                .map(|addr| addr.parse().map_err(|_| bad("inspect")))
                .transpose()?,
            seed: field("seed")?.parse().map_err(|_| bad("seed"))?,
            init: field("init")?.parse().map_err(|_| bad("init"))?,
        })
    }
}

/// Runs a replica and never returns if this process was started as one; returns at once otherwise.
pub(crate) fn run_if_asked() {
    let Ok(text) = std::env::var(REPLICA_ENV) else {
        return;
    };
    let result = ReplicaArgs::parse(&text).and_then(|args| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        runtime.block_on(run(args)).map_err(|error| error.to_string())
    });
    // Only an error ends a replica (a kill ends it otherwise); the parent reads the line.
    let error = result.err().unwrap_or_else(|| "replica stopped".into());
    println!("\nERROR {error}");
    std::process::exit(2);
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn run(args: ReplicaArgs) -> Result<(), Failure> {
    let log = RedbLog::open(args.dir.join("log.redb"))?;
    let state = RedbStateMachine::open(args.dir.join("state.redb"), fleet_keys(args.seed), vault_config())?;
    let raft = Raft::new(
        args.id,
        Arc::new(raft_config().validate()?),
        TcpNetwork,
        log,
        state.clone(),
    )
    .await?;
    let own = args.peers.get(&args.id).ok_or("no address of its own")?;
    let _peers = serve(TcpListener::bind(own).await?, raft.clone());
    let clients = TcpListener::bind(args.client).await?;
    if let Some(addr) = args.inspect {
        let listener = TcpListener::bind(addr).await?;
        tokio::spawn(inspect(listener, state.clone()));
    }
    if args.init {
        let members: BTreeMap<NodeId, BasicNode> = args
            .peers
            .iter()
            .map(|(&id, addr)| (id, BasicNode::new(addr.to_string())))
            .collect();
        match raft.initialize(members).await {
            // Already initialized: a restart of the replica that initialized the cluster.
            Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
            Err(error) => return Err(error.into()),
        }
    }
    // A newline first: under a test harness the line so far holds the test's name.
    println!("\nREADY");
    loop {
        let (stream, _) = clients.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(answer(stream, raft.clone()));
    }
}

/// Test mode only: answers every connection on `listener` with the replica's whole state, request by request.
async fn inspect(listener: TcpListener, state: RedbStateMachine) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            while let Ok(StateRequest) = read_frame::<StateRequest>(&mut stream).await {
                let reply = match state.state() {
                    Ok(replica) => StateReply::State {
                        state: replica.to_bytes(),
                        applied: state.applied_index(),
                    },
                    Err(error) => StateReply::Failed(error.to_string()),
                };
                if write_frame(&mut stream, &reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The proposal of a client's command (its log encoding with `at_ms` and `entropy` zero): the leader's time and
/// entropy filled in, under the client's idempotency key. What [`submit`] proposes; also called directly by the
/// `replica_cost` example, which measures a leader's work without a Raft node.
pub(crate) fn propose(
    command: &[u8],
    client: ClientId,
    seq: u64,
    at_ms: u64,
    entropy: [u8; ENTROPY_LEN],
) -> Result<Proposal, DecodeError> {
    let mut command = Command::from_bytes(command)?;
    command.at_ms = at_ms;
    command.entropy = entropy;
    Ok(Proposal {
        client,
        seq,
        command: command.to_bytes(),
    })
}

/// One client connection: request, reply, until it closes.
async fn answer(mut stream: TcpStream, raft: Raft) {
    while let Ok(request) = read_frame_within::<ClientRequest>(&mut stream, MAX_CLIENT_FRAME).await {
        let reply = match request {
            ClientRequest::Submit { command, client, seq } => submit(&raft, &command, client, seq).await,
            ClientRequest::Leader => ClientReply::Leader(raft.metrics().borrow().current_leader),
        };
        if write_frame(&mut stream, &reply).await.is_err() {
            return;
        }
    }
}

/// Proposes a client's command, as the leader: the time from its clock, the entropy from the OS's CSPRNG (an
/// HSM's in a deployment), the principal as the client's connection gave it.
///
/// On loopback the connection authenticates no one: the principal is the one in the client's command. A
/// deployment takes it from the authenticated connection (SPEC.md §11), never from the request.
async fn submit(raft: &Raft, command: &[u8], client: [u8; 16], seq: u64) -> ClientReply {
    let at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| u64::try_from(now.as_millis()).unwrap_or(u64::MAX));
    let mut entropy = [0; ENTROPY_LEN];
    OsRng.fill_bytes(&mut entropy);
    let proposal = match propose(command, client, seq, at_ms, entropy) {
        Ok(proposal) => proposal,
        Err(error) => return ClientReply::Failed(format!("malformed command: {error}")),
    };
    match tokio::time::timeout(COMMIT_DEADLINE, raft.client_write(proposal)).await {
        Err(_) => ClientReply::Timeout,
        Ok(Ok(written)) => ClientReply::Done(Box::new(written.data)),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward)))) => {
            ClientReply::NotLeader(forward.leader_id)
        }
        Ok(Err(error)) => ClientReply::Failed(error.to_string()),
    }
}
